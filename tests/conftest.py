"""Test-wide setup: the collection importable as ansible_collections.offsite.mongodb, tests/ on sys.path.

Server fixtures live in tests/integration/conftest.py; unit tests need none.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The collection must be importable as ansible_collections.offsite.mongodb (the Makefile links it there).
COLLECTIONS = ROOT / ".cache" / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))
if str(ROOT / "tests") not in sys.path:
    sys.path.insert(0, str(ROOT / "tests"))
