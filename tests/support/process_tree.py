"""Find the processes a command started (by walking /proc) and SIGKILL chosen ones by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path
from typing import Dict, List


def _parents() -> Dict[int, int]:
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry.name)] = int(fields[1])
    return parents


def descendants(root: int) -> List[int]:
    """Every live process below ``root`` (children, grandchildren...)."""
    parents = _parents()
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found += children
        frontier += children
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def find_descendant(root: int, needle: str, timeout: float = 60) -> int:
    """The PID of the innermost process below ``root`` whose command line contains ``needle``.

    Innermost: a ``/bin/sh -c '... needle ...'`` wrapper also matches, but the work runs in its child.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        matching = [pid for pid in descendants(root) if needle in cmdline(pid)]
        innermost = [pid for pid in matching if not any(child in matching for child in descendants(pid))]
        if innermost and not cmdline(innermost[0]).startswith("/bin/sh"):
            return innermost[0]
        time.sleep(0.02)
    raise AssertionError(f"no process running {needle!r} appeared below PID {root} within {timeout} s")


def kill(pid: int) -> None:
    """SIGKILL one process by PID (gone already is fine)."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
