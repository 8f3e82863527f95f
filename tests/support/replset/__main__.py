"""``python -m support.replset`` (from ``tests/``), or this file run by path (the launcher does that)."""

import sys
from pathlib import Path

if not __package__:  # run by path: make ``support`` importable instead of this folder's modules
    sys.path[0] = str(Path(__file__).resolve().parents[2])

from support.replset.main import main

sys.exit(main())
