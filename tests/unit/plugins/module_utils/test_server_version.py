"""Server versions from buildInfo, from an archive header, and back to text."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import (
    from_build_info,
    parse_archive_version,
    version_text,
)


@pytest.mark.parametrize(
    ("build_info", "version"),
    [
        ({"versionArray": [7, 0, 2, 0], "version": "7.0.2"}, (7, 0, 2)),
        ({"version": "8.0.0-rc1"}, (8, 0, 0)),
        ({"version": "6.0"}, (6, 0, 0)),
        ({"versionArray": [5]}, (5, 0, 0)),
        ({"version": "garbage"}, (0, 0, 0)),
        ({}, (0, 0, 0)),
    ],
)
def test_from_build_info_prefers_the_array_and_pads_to_three_parts(build_info, version):
    assert from_build_info(build_info) == version


@pytest.mark.parametrize(
    ("text", "version"),
    [
        ("7.0.12", (7, 0, 12)),
        ("8.3.0-rc0", (8, 3, 0)),
        ("7.0.12+build.5", (7, 0, 12)),
        ("7.0", None),
        ("unknown", None),
        ("7.x.1", None),
        ("", None),
    ],
)
def test_archive_versions_parse_as_mongorestore_does(text, version):
    assert parse_archive_version(text) == version


def test_version_text_is_three_numbers():
    assert version_text((7, 0, 12)) == "7.0.12"
    assert version_text((8,)) == "8.0.0"
    assert version_text((6, 0, 1, 9)) == "6.0.1"
    assert parse_archive_version(version_text(from_build_info({"version": "8.0.4"}))) == (8, 0, 4)
