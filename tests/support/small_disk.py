"""A directory on a tiny filesystem, so that writes fail with ENOSPC as on a full disk.

As root a small tmpfs is mounted (and unmounted by the fixture); elsewhere ``fsize_limit`` gives a
``preexec_fn`` that caps file sizes with ``RLIMIT_FSIZE`` instead (writes then fail with EFBIG,
after SIGXFSZ is ignored), which is the nearest a non-root test gets to a full disk.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
from pathlib import Path
from typing import Callable, Iterator, Optional, Tuple


def can_mount() -> bool:
    return os.geteuid() == 0


@contextlib.contextmanager
def full_disk(path: Path, size_kib: int = 256) -> Iterator[Path]:
    """``path`` as a tmpfs of ``size_kib`` KiB (root only); unmounted afterwards even on failure."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0755", "tmpfs", str(path)],
        check=True,
        capture_output=True,
    )
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def fsize_limit(max_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn``: files larger than ``max_bytes`` cannot be written (EFBIG, SIGXFSZ ignored)."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))

    return limit


@contextlib.contextmanager
def small_disk(path: Path, size_kib: int = 256) -> Iterator[Tuple[Path, Optional[Callable[[], None]]]]:
    """``(directory, preexec_fn)``: a tmpfs as root (no preexec_fn needed), else a size limit to apply."""
    if can_mount():
        with full_disk(path, size_kib) as mounted:
            yield mounted, None
        return
    path.mkdir(parents=True, exist_ok=True)
    yield path, fsize_limit(size_kib * 1024)
