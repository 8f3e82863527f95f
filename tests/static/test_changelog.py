"""The changelog announces every role and playbook the collection ships, released or in a fragment."""

from __future__ import annotations

from pathlib import Path
from typing import Set

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def announced(kind: str) -> Set[str]:
    """Names of ``kind`` objects (role, playbook) in changelog.yaml's releases and in unreleased fragments."""
    names: Set[str] = set()
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
    for release in (changes.get("releases") or {}).values():
        names |= {entry["name"] for entry in release.get("objects", {}).get(kind, [])}
    for fragment in (ROOT / "changelogs" / "fragments").glob("*.y*ml"):
        data = yaml.safe_load(fragment.read_text()) or {}
        names |= {entry["name"] for entry in data.get(f"add object.{kind}", [])}
    return names


@pytest.mark.parametrize(
    ("kind", "shipped"),
    [
        ("role", {path.name for path in (ROOT / "roles").iterdir() if (path / "tasks").is_dir()}),
        ("playbook", {path.stem for path in (ROOT / "playbooks").glob("*.yml")}),
    ],
)
def test_every_shipped_object_is_announced(kind: str, shipped: Set[str]) -> None:
    assert shipped, f"no {kind} found"
    assert sorted(shipped - announced(kind)) == [], f"add an 'add object.{kind}' changelog fragment"


def test_the_generated_changelog_lists_the_released_roles_and_playbooks() -> None:
    text = (ROOT / "CHANGELOG.rst").read_text()
    changes = yaml.safe_load((ROOT / "changelogs" / "changelog.yaml").read_text())
    for version, release in changes["releases"].items():
        assert f"v{version}" in text
        for kind, entries in release.get("objects", {}).items():
            for entry in entries:
                assert f"offsite.mongodb.{entry['name']} - " in text, (
                    f"{kind} {entry['name']}: run make changelog"
                )
