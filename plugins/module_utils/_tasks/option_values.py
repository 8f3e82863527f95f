"""Reading module options whose zero is a value to refuse, not "unset"."""

from __future__ import annotations

from typing import Any, Mapping


def given(params: Mapping[str, Any], name: str, default: int) -> int:
    """An option's value, 0 included (the plan's check refuses it); ``default`` only when unset."""
    value = params.get(name)
    return default if value is None else int(value)
