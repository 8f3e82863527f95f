"""Freed memory goes back to the operating system (glibc), so peak RSS follows what is in flight.

glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MiB), after which
16 MiB batches and 8 MiB parts come from heaps that keep their memory; and it gives each thread its
own heap (up to eight per core), each keeping its own free memory. A dump with many threads then
holds several times its byte budget. Fixing the threshold keeps every large block mmapped (unmapped
at ``free``); two heaps are enough for threads that mostly wait on sockets and release the GIL.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 1 << 20
HEAPS = 2


def limit_heap_retention(threshold: int = LARGE_BLOCK, heaps: int = HEAPS) -> bool:
    """Blocks of ``threshold`` bytes or more are unmapped when freed; at most ``heaps`` heaps for new threads.

    Returns False where this is not glibc (nothing changes there).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return bool(libc.mallopt(M_MMAP_THRESHOLD, int(threshold))) and bool(
            libc.mallopt(M_ARENA_MAX, int(heaps))
        )
    except (OSError, AttributeError):
        return False
