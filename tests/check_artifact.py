"""Check a built collection artifact: what Galaxy's importer and ansible-builder read is in, build junk is out."""

from __future__ import annotations

import sys
import tarfile
from typing import List

import yaml

REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "LICENSE",
    "CHANGELOG.rst",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    ".ansible-lint",  # Galaxy's importer runs ansible-lint in the artifact: the awx.awx mocks must be there
    "requirements.txt",
    "bindep.txt",
    "docs/docsite/links.yml",
    "docs/docsite/extra-docs.yml",
    "plugins/modules/mongo_fsync_lock.py",
)
FORBIDDEN_PREFIXES = (
    "tests/", "bench/", "demo/", ".ci/", ".github/", ".cache/", ".git/", ".ansible/", ".pytest_cache/",
    ".ruff_cache/",
)  # fmt: skip
FORBIDDEN_NAMES = (
    "Makefile", "requirements-dev.txt", "requirements-docs.txt", "ruff.toml", ".gitignore", "pytest.ini",
    "changelogs/.plugin-cache.yaml",
)  # fmt: skip
FORBIDDEN_SUFFIXES = (".pyc", ".tar.gz")


def problems(path: str) -> List[str]:
    with tarfile.open(path) as archive:
        names = [name.removeprefix("./") for name in archive.getnames()]
        runtime = (
            yaml.safe_load(archive.extractfile("meta/runtime.yml")) if "meta/runtime.yml" in names else {}
        )
        ee_file = "meta/execution-environment.yml"
        ee = yaml.safe_load(archive.extractfile(ee_file)) if ee_file in names else {}
    found = [f"missing {name}" for name in REQUIRED if name not in names]
    if not (runtime or {}).get("requires_ansible"):
        found.append("meta/runtime.yml has no requires_ansible")
    for kind, dependency in ((ee or {}).get("dependencies") or {}).items():
        if dependency not in names:  # ansible-builder reads these paths from the installed collection
            found.append(f"{ee_file} names {kind} file {dependency}, which is not in the artifact")
    for name in names:
        if (
            name.startswith(FORBIDDEN_PREFIXES)
            or name in FORBIDDEN_NAMES
            or name.endswith(FORBIDDEN_SUFFIXES)
            or "__pycache__" in name
        ):
            found.append(f"should not ship {name}")
    return found


def main(paths: List[str]) -> int:
    if len(paths) != 1:
        print("usage: check_artifact.py offsite-mongodb-<version>.tar.gz")
        return 2
    found = problems(paths[0])
    for problem in found:
        print(f"{paths[0]}: {problem}")
    if not found:
        print(f"{paths[0]}: artifact contents OK")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
