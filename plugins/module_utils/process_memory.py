"""Large buffers go back to the operating system when freed (glibc), so peak RSS follows what is in flight.

glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MiB), after which
16 MiB batches and 8 MiB parts come from per-thread heaps that keep their memory: a dump with many
threads then holds several times its byte budget. Fixing the threshold keeps every block over it
mmapped, returned at ``free``.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_MMAP_THRESHOLD = -3  # mallopt parameter (malloc.h)
LARGE_BLOCK = 1 << 20


def return_large_blocks_to_os(threshold: int = LARGE_BLOCK) -> bool:
    """Blocks of ``threshold`` bytes or more are mmapped and unmapped when freed; False where not glibc."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False
