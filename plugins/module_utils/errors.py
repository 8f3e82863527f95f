"""The engine's error type: one line that says what went wrong and what to fix."""

from __future__ import annotations


class OffsiteError(Exception):
    """A failure the operator can act on; ``str(error)`` is a single line naming the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
