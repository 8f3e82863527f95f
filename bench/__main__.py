"""Run every benchmark (``python -m bench``) or the named ones (``python -m bench archive s3``).

At the end, every line that states a ratio against its baseline (``RATIO_MARKS``) is printed again,
so ``make bench`` ends with each ratio and its baseline in one place.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path
from typing import Any, List

RATIO_MARKS = ("aim", "of the raw read", "of raw insert_many", "of zlib 6")


class _Recorder:
    """stdout that also keeps the lines stating a ratio."""

    def __init__(self, out: Any) -> None:
        self.out = out
        self.lines: List[str] = []
        self._partial = ""

    def write(self, text: str) -> int:
        self._partial += text
        *done, self._partial = self._partial.split("\n")
        self.lines += [line for line in done if any(mark in line for mark in RATIO_MARKS)]
        return self.out.write(text)

    def flush(self) -> None:
        self.out.flush()


def main(argv: list) -> int:
    here = Path(__file__).parent
    names = sorted(info.name for info in pkgutil.iter_modules([str(here)]) if info.name.startswith("bench_"))
    wanted = [f"bench_{name}" for name in argv] or names
    unknown = sorted(set(wanted) - set(names))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(names)}")
        return 2
    recorder = _Recorder(sys.stdout)
    sys.stdout = recorder
    try:
        for name in wanted:
            print(f"== {name}", flush=True)
            recorder.lines.append(f"[{name}]")
            importlib.import_module(f"bench.{name}").main()
    finally:
        sys.stdout = recorder.out
    print("== summary: every ratio with its baseline")
    print("\n".join(recorder.lines))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
