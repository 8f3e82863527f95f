"""Heap memory stays bounded by what is in flight (glibc), without paying for fresh pages on every batch.

glibc gives each thread its own heap (up to eight per core), each keeping its own free memory, so a
dump with many threads held several times its byte budget; two heaps are enough for threads that
mostly wait on sockets and release the GIL. The mmap threshold is fixed at glibc's own ceiling (32
MiB): the dump asks for replies of about 2 MiB (``byte_budget.TARGET_REPLY``), so batches and their
copies come from the two heaps and are reused. A lower threshold (1 MiB, as before) mapped and
zero-filled fresh pages for every batch: a third more CPU for a plain dump (docs/performance.md).
Fixing the mmap threshold also fixes the trim threshold at 128 KiB, so a heap gave back each freed
batch and took it again for the next; keeping 16 MiB free at the top halves a plain dump's CPU.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_ARENA_MAX = -8  # mallopt parameters (malloc.h)
M_MMAP_THRESHOLD = -3
M_TRIM_THRESHOLD = -1
LARGE_BLOCK = 32 << 20  # glibc's DEFAULT_MMAP_THRESHOLD_MAX on 64-bit hosts
HEAPS = 2
KEPT_FREE = 16 << 20  # free memory a heap keeps at its top instead of returning it (and faulting it in again)


def limit_heap_retention(
    threshold: int = LARGE_BLOCK, heaps: int = HEAPS, kept_free: int = KEPT_FREE
) -> bool:
    """Blocks of ``threshold`` bytes or more are unmapped when freed; at most ``heaps`` heaps for new threads;
    each keeps up to ``kept_free`` bytes free at its top.

    Returns False where this is not glibc (nothing changes there).
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        settings = ((M_MMAP_THRESHOLD, threshold), (M_ARENA_MAX, heaps), (M_TRIM_THRESHOLD, kept_free))
        applied = [bool(libc.mallopt(option, int(value))) for option, value in settings]  # every one, always
        return all(applied)
    except (OSError, AttributeError):
        return False
