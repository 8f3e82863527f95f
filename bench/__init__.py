"""Benchmarks: each ``bench_*.py`` module has a ``main()`` that prints ratios against a baseline it measures."""

import sys
from pathlib import Path

# The collection importable as ansible_collections.offsite.mongodb (the Makefile links it) and tests/support.
_ROOT = Path(__file__).resolve().parent.parent
for _path in (_ROOT / "tests", _ROOT / ".cache" / "collections"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))
