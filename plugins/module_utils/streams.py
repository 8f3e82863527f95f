"""The stream shapes the engine passes around: anything that takes bytes, anything that gives them."""

from __future__ import annotations

from typing import Protocol


class Writable(Protocol):
    """A byte sink: a file, a compressor, an S3 upload stream."""

    def write(self, data: bytes) -> int: ...


class Readable(Protocol):
    """A byte source: a file, a decompressor, an S3 download stream."""

    def read(self, size: int = -1) -> bytes: ...
