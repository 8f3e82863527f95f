"""CRC-64/XZ, the per-namespace checksum of mongodump archives (Go's ``crc64.ECMA`` table).

The C-backed ``fastcrc`` does tens of GB/s; without it a pure-Python table runs near 10 MB/s and
``FALLBACK_WARNING`` says so (the modules pass it on as a warning).
"""

from __future__ import annotations

import warnings
from typing import List, Optional

CHECK_VALUE = 0x995DC9BBDF1939FA  # CRC-64/XZ of b"123456789"
MASK = 0xFFFFFFFFFFFFFFFF
_POLY_REFLECTED = 0xC96C5795D7870F42

try:
    from fastcrc import crc64 as _fastcrc64

    BACKEND = "fastcrc"
except ImportError:  # pragma: no cover - exercised on hosts without fastcrc
    _fastcrc64 = None
    BACKEND = "python"

FALLBACK_WARNING: Optional[str] = (
    None
    if BACKEND == "fastcrc"
    else "the Python library fastcrc is missing, so archive CRCs are computed in pure Python (about 10 MB/s): "
    "pip install fastcrc on this host for full speed"
)


def _table() -> List[int]:
    table = []
    for byte in range(256):
        crc = byte
        for _bit in range(8):
            crc = (crc >> 1) ^ _POLY_REFLECTED if crc & 1 else crc >> 1
        table.append(crc)
    return table


_TABLE = _table()


def crc64_python(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ of ``data`` continuing from ``crc`` (0 to start), in pure Python."""
    table = _TABLE
    crc ^= MASK
    for byte in memoryview(data).cast("B"):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ MASK


def crc64_fast(data: bytes, crc: int = 0) -> int:
    """CRC-64/XZ of ``data`` continuing from ``crc`` (0 to start), via fastcrc."""
    return _fastcrc64.xz(data, crc)


crc64 = crc64_fast if BACKEND == "fastcrc" else crc64_python


def warn_if_slow() -> None:
    """Emit ``FALLBACK_WARNING`` as a RuntimeWarning when the pure-Python CRC is in use."""
    if FALLBACK_WARNING:
        warnings.warn(FALLBACK_WARNING, RuntimeWarning, stacklevel=2)


def to_signed(crc: int) -> int:
    """The unsigned CRC as the signed int64 an archive header stores."""
    crc &= MASK
    return crc - (1 << 64) if crc >= 1 << 63 else crc


def to_unsigned(value: int) -> int:
    """A header's int64 CRC as the unsigned value."""
    return value & MASK
