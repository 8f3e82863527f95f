"""Check a built collection artifact: the plugins and docs are in, tests and dev files are out."""

from __future__ import annotations

import sys
import tarfile

REQUIRED = (
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "meta/runtime.yml",
    "plugins/modules/mongo_fsync_lock.py",
)
FORBIDDEN_PREFIXES = ("tests/", "bench/", "demo/", ".ci/", ".github/", ".cache/", ".git/")
FORBIDDEN_NAMES = ("Makefile", "requirements-dev.txt", "ruff.toml", ".gitignore", "pytest.ini")


def problems(path: str) -> list:
    with tarfile.open(path) as archive:
        names = [name.removeprefix("./") for name in archive.getnames()]
    found = [f"missing {name}" for name in REQUIRED if name not in names]
    for name in names:
        if name.startswith(FORBIDDEN_PREFIXES) or name in FORBIDDEN_NAMES or "__pycache__" in name:
            found.append(f"should not ship {name}")
    return found


def main(paths: list) -> int:
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
