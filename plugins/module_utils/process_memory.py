"""Heap memory stays bounded by what is in flight (glibc), without paying for fresh pages on every batch.

glibc gives each thread its own heap (up to eight per core), each keeping its own free memory, so a
dump with many threads held several times its byte budget; two heaps are enough for threads that
mostly wait on sockets and release the GIL. The mmap threshold is fixed at glibc's own ceiling (32
MiB): the dump asks for replies of about 2 MiB (``byte_budget.TARGET_REPLY``), so batches and their
copies come from the two heaps and are reused. A lower threshold (1 MiB, as before) mapped and
zero-filled fresh pages for every batch: a third more CPU for a plain dump (docs/performance.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
LARGE_BLOCK = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit hosts
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
