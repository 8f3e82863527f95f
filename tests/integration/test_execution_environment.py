"""Execution environments: ansible-builder finds the collection's requirements, and the AWX example's
EE definition gives a build context that holds them (``ansible-builder create`` needs no container runtime).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List

import yaml

ROOT = Path(__file__).resolve().parents[2]
BUILDER = Path(sys.executable).parent / "ansible-builder"


def requirement_lines(path: Path) -> List[str]:
    """The requirement lines of a pip or bindep file, without comments and blank lines."""
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [line for line in lines if line]


def run(argv: List[str], cwd: Path) -> subprocess.CompletedProcess:
    """Run a tool; the test fails with its output when it fails.

    ANSIBLE_COLLECTIONS_PATH (set by the Makefile) is left out: with it, ansible-galaxy sees the checkout
    already installed there and installs nothing into the ``-p`` folder.
    """
    env = {key: value for key, value in os.environ.items() if key != "ANSIBLE_COLLECTIONS_PATH"}
    completed = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False, env=env
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def builder(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return run([str(BUILDER), *args], cwd=cwd)


def test_the_collection_metadata_follows_ansible_builders_collection_format() -> None:
    metadata = yaml.safe_load((ROOT / "meta" / "execution-environment.yml").read_text())
    assert metadata["version"] == 1
    assert metadata["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    for name in metadata["dependencies"].values():
        assert (ROOT / name).is_file(), f"{name} is named in meta/execution-environment.yml but missing"


def test_ansible_builder_introspection_finds_the_collections_requirements(tmp_path: Path) -> None:
    """What ansible-builder installs into any EE that contains offsite.mongodb, read from a built artifact."""
    build, installed = tmp_path / "build", tmp_path / "collections"
    galaxy = str(Path(sys.executable).parent / "ansible-galaxy")
    run([galaxy, "collection", "build", "--output-path", str(build), str(ROOT)], cwd=tmp_path)
    (artifact,) = build.glob("offsite-mongodb-*.tar.gz")
    run([galaxy, "collection", "install", "--offline", "-p", str(installed), str(artifact)], cwd=tmp_path)

    found = yaml.safe_load(builder("introspect", "--sanitize", str(installed), cwd=tmp_path).stdout)

    python = [line.split("#", 1)[0].strip() for line in found["python"]]
    system = [line.split("#", 1)[0].strip() for line in found["system"]]
    assert python == requirement_lines(ROOT / "requirements.txt")
    assert system == requirement_lines(ROOT / "bindep.txt")
    assert all("from collection offsite.mongodb" in line for line in found["python"] + found["system"])


def test_the_awx_execution_environment_context_holds_the_collection_and_its_requirements(
    tmp_path: Path,
) -> None:
    context = tmp_path / "context"
    builder(
        "create",
        "-f",
        str(ROOT / "examples" / "awx" / "execution-environment.yml"),
        "-c",
        str(context),
        cwd=tmp_path,
    )

    assert (context / "Dockerfile").is_file()
    galaxy = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert {"name": "offsite.mongodb"} in galaxy["collections"]
    assert requirement_lines(context / "_build" / "requirements.txt") == requirement_lines(
        ROOT / "requirements.txt"
    )
    assert requirement_lines(context / "_build" / "bindep.txt") == requirement_lines(ROOT / "bindep.txt")
