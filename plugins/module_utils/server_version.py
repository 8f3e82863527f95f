"""MongoDB server versions: as ``buildInfo`` reports them, as archives carry them, as text."""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Tuple

Version = Tuple[int, int, int]


def from_build_info(build_info: Mapping[str, Any]) -> Version:
    """``buildInfo`` -> (major, minor, patch); reads ``version`` when ``versionArray`` is absent."""
    array = build_info.get("versionArray")
    if array:
        parts = [int(part) for part in array[:3]]
    else:
        leading = re.match(r"(\d+)(?:\.(\d+))?(?:\.(\d+))?", str(build_info.get("version", "")))
        parts = [int(part or 0) for part in leading.groups()] if leading else []
    parts = ([*parts, 0, 0, 0])[:3]
    return parts[0], parts[1], parts[2]


def parse_archive_version(text: str) -> Optional[Version]:
    """An archive's ``server_version`` as mongorestore parses it (cut at ``-`` and ``+``), or None."""
    core = str(text).split("-", 1)[0].split("+", 1)[0]
    parts = core.split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return int(parts[0]), int(parts[1]), int(parts[2])


def version_text(version: Tuple[int, ...]) -> str:
    """``X.Y.Z`` (the form mongorestore needs in an archive header)."""
    parts = [*list(version[:3]), 0, 0, 0][:3]
    return ".".join(str(int(part)) for part in parts)
