"""Where the real mongodump files live: ``tests/fixtures/mongodump`` (origins in its README.md)."""

from __future__ import annotations

from pathlib import Path

MONGODUMP_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mongodump"
