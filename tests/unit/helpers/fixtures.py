"""Where the real mongodump files live: ``tests/fixtures/mongodump`` (a copy of ../shared/fixtures)."""

from __future__ import annotations

from pathlib import Path

MONGODUMP_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mongodump"
