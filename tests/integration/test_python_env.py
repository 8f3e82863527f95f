"""The opt-in virtual environment: one inventory variable makes the roles install what the modules need
into a venv on the host, offline from a wheel directory, and run the collection's modules with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from support.playbook_runner import run_playbook, write_inventory

ROOT = Path(__file__).resolve().parents[2]
WHEELHOUSE = ROOT / ".cache" / "wheelhouse"  # `make setup` fills it: pip wheel -r requirements.txt


@pytest.fixture(scope="module")
def wheelhouse() -> Path:
    if not any(WHEELHOUSE.glob("*.whl")):
        pytest.fail(f"{WHEELHOUSE} has no wheels: run `make setup` (it builds them from requirements.txt)")
    return WHEELHOUSE


def inventory_with_venv(tmp_path: Path, venv: Path, wheelhouse: Path, s3_endpoint, s3_bucket) -> Path:
    """localhost with the opt-in variables and the catalog's S3 settings."""
    return write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_python_venv": str(venv),
            "offsite_mongodb_python_wheels": str(wheelhouse),
            "offsite_mongodb_python": sys.executable,
            "offsite_s3_bucket": s3_bucket,
            "offsite_s3_connection": {
                "endpoint_url": s3_endpoint.endpoint_url,
                "region": s3_endpoint.region,
                "access_key": s3_endpoint.access_key,
                "secret_key": s3_endpoint.secret_key,
            },
        },
    )


@pytest.mark.slow
def test_the_catalog_role_runs_its_module_in_a_venv_built_offline_and_a_second_run_changes_nothing(
    tmp_path: Path, wheelhouse: Path, s3_endpoint, s3_bucket
) -> None:
    venv = tmp_path / "opt" / "offsite-mongodb" / "venv"
    inventory = inventory_with_venv(tmp_path, venv, wheelhouse, s3_endpoint, s3_bucket)
    # -vvv shows the interpreter each module runs with; no index is reachable through PIP_* either.
    offline = {"PIP_INDEX_URL": "http://127.0.0.1:9/nothing-here", "PIP_NO_INDEX": "1"}

    first = run_playbook("list", inventory, verbosity=3, env=offline)

    assert first.rc == 0, first.tail()
    assert (
        first.result("Create the virtual environment and install the requirements into it")["changed"] is True
    )
    assert first.result("Read the catalog")["backups"] == []
    assert f"{venv}/bin/python" in first.output.split("TASK [offsite.mongodb.catalog : Read the catalog]")[1]
    imports = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import boto3, fastcrc, pymongo, zstandard"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert imports.returncode == 0, imports.stderr

    second = run_playbook("list", inventory, env=offline)

    assert second.rc == 0, second.tail()
    for task in (
        "Create the directory that holds the virtual environment",
        "Keep the collection's requirements next to the virtual environment",
        "Create the virtual environment and install the requirements into it",
    ):
        assert second.result(task)["changed"] is False, task
    assert second.result("Read the catalog")["failed"] is False


def test_check_mode_creates_nothing_and_keeps_the_hosts_python(
    tmp_path: Path, wheelhouse: Path, s3_endpoint, s3_bucket
) -> None:
    venv = tmp_path / "opt" / "offsite-mongodb" / "venv"
    inventory = inventory_with_venv(tmp_path, venv, wheelhouse, s3_endpoint, s3_bucket)

    run = run_playbook("list", inventory, verbosity=3, extra_args=["--check"])

    assert run.rc == 0, run.tail()
    assert not (tmp_path / "opt").exists()
    assert (
        run.result("Create the virtual environment and install the requirements into it")["changed"] is True
    )
    assert not run.ran("Run the collection's modules with the virtual environment's Python")
    catalog_task = run.output.split("TASK [offsite.mongodb.catalog : Read the catalog]")[1]
    assert f"{venv}/bin/python" not in catalog_task
    assert sys.executable in catalog_task
