"""End to end: the collection's playbooks against the stand-ins (nx-27017 and moto), as an operator runs them.

One scenario, split into steps that share module-scoped fixtures: three backups (retention keep_last 2)
-> list -> restore refused without confirmation -> refused over data without drop -> restore into a new
database -> verify drill. Each step is its own test, so a failure names the step; a step's fixture
runs the steps it needs first.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List

import pymongo
import pytest
from support.playbook_runner import PlaybookRun, run_playbook, write_inventory

SECRET_KEY = f"S3-secret-{uuid.uuid4().hex}"  # moto accepts any key; a unique one can be searched for
SOURCE = {"customers": 300, "orders": 1200, "products": 40}


@dataclass
class Scenario:
    """What every step needs: where things are, and the source database's name."""

    mongo_uri: str
    bucket: str
    shop: str
    staging: Path
    metrics: Path
    inventory: Path


def _counts(mongo_uri: str, database: str) -> Dict[str, int]:
    with pymongo.MongoClient(mongo_uri) as client:
        db = client[database]
        return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}


@pytest.fixture(scope="module")
def scenario(tmp_path_factory, mongo_server, s3_endpoint, module_bucket):
    """A database with three collections of known sizes and an inventory for it; dropped afterwards."""
    base = tmp_path_factory.mktemp("playbook")
    staging = base / "staging"
    staging.mkdir()
    shop = f"shop_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(mongo_server.uri)
    db = client[shop]
    db["customers"].insert_many([{"_id": i, "name": f"c{i}"} for i in range(300)])
    db["orders"].insert_many([{"customer": i % 300, "total": i} for i in range(1200)])
    db["products"].insert_many([{"sku": f"p{i}"} for i in range(40)])
    inventory = write_inventory(
        base / "hosts.yml",
        {
            "offsite_mongodb_connection": {"uri": mongo_server.uri},
            "offsite_s3_connection": {
                "endpoint_url": s3_endpoint.endpoint_url,
                "region": s3_endpoint.region,
                "access_key": s3_endpoint.access_key,
                "secret_key": s3_endpoint.secret_key if s3_endpoint.real else SECRET_KEY,
            },
            "offsite_s3_bucket": module_bucket,
            "backup_consistency": "none",  # nx-27017 is a standalone whose fsync lock is a no-op: auto would refuse it
            "backup_staging_dir": str(staging),
            "restore_staging_dir": str(staging),
            "backup_set_name": "shop-set",
            "restore_set_name": "shop-set",
            "verify_set_name": "shop-set",
            "backup_databases": [shop],
            "backup_retention": {"keep_last": 2},
            "backup_labels": {"env": "test"},
            "backup_metrics_dir": str(base),
        },
    )
    assert _counts(mongo_server.uri, shop) == SOURCE
    yield Scenario(mongo_server.uri, module_bucket, shop, staging, base, inventory)
    for database in client.list_database_names():
        if database.startswith(shop) or database.startswith(f"offsite_drill_{shop}"):
            client.drop_database(database)
    client.close()


@pytest.fixture(scope="module")
def backups(scenario) -> List[PlaybookRun]:
    """Three backup runs: streamed, staged on disk, streamed (the last at -vvv)."""
    runs = []
    for run_number, staging_mode in enumerate(["stream", "disk", "stream"]):
        extra = {"backup_staging": "disk"} if staging_mode == "disk" else {}
        run = run_playbook(
            "backup", scenario.inventory, verbosity=3 if run_number == 2 else 0, extra_vars=extra
        )
        assert run.rc == 0, f"backup run {run_number + 1} failed:\n{run.tail()}"
        runs.append(run)
    return runs


def _report(run: PlaybookRun) -> Dict[str, Any]:
    return run.result("Report the backup")["msg"]


@pytest.fixture(scope="module")
def backup_ids(backups) -> List[str]:
    return [_report(run)["backup_id"] for run in backups]


def test_backups_report_their_set_documents_staging_and_location(scenario, backups, backup_ids):
    for run, staging_mode in zip(backups, ["stream", "disk", "stream"]):
        report = _report(run)
        assert report["set"] == "shop-set"
        assert report["documents"] == 1540
        assert report["staging"] == staging_mode  # without a lock, auto staging streams straight to S3
        assert report["location"].startswith(f"s3://{scenario.bucket}/")
    assert len(set(backup_ids)) == 3
    assert list(scenario.staging.iterdir()) == []  # staging removed after every run


def test_retention_keeps_the_newest_two(backups, backup_ids):
    removed = [_report(run)["pruned"] for run in backups]
    assert removed == [[], [], [backup_ids[0]]]
    # Streamed runs prune in the dump task itself, the staged run in its upload task.
    pruned = backups[2].result(
        "Dump straight into the S3 catalog (no local file; the manifest is written last)"
    )["pruned"]
    assert pruned["removed"] == [{"backup_id": backup_ids[0], "reason": "not kept by any keep_* rule"}]
    staged = backups[1].result("Upload the archive, then its manifest")["pruned"]
    assert [kept["backup_id"] for kept in staged["kept"]] == [backup_ids[1], backup_ids[0]]


def test_backups_write_prometheus_metrics(scenario, backups):
    run_metrics = (scenario.metrics / "offsite_mongodb_backup_shop_set_run.prom").read_text()
    success_metrics = (scenario.metrics / "offsite_mongodb_backup_shop_set_success.prom").read_text()
    assert (
        f'offsite_mongodb_backup_last_run_success{{set="shop-set",bucket="{scenario.bucket}"}} 1'
        in run_metrics
    )
    assert 'offsite_mongodb_backup_last_success_documents{set="shop-set"' in success_metrics
    assert success_metrics.rstrip().endswith(" 1540")


def test_list_shows_the_kept_backups_newest_first(scenario, backup_ids):
    listing = run_playbook("list", scenario.inventory)
    assert listing.rc == 0, listing.tail()
    table = listing.result("Show the catalog, newest first")["msg"]
    assert [line.split()[1] for line in table[1:-1]] == [backup_ids[2], backup_ids[1]]
    assert all("1540" in line and "yes" in line and '"env": "test"' in line for line in table[1:-1])
    assert table[-1] == "2 backup(s)"


def test_a_destructive_restore_without_confirmation_stops_before_touching_anything(scenario, backup_ids):
    refused = run_playbook("restore", scenario.inventory, extra_vars={"restore_drop": True})
    assert refused.rc != 0
    assert any("Set restore_confirm=true" in m for m in refused.failures())
    assert not refused.ran("Ask the local node what it is")
    assert not refused.ran("Download the backup and check its SHA-256 against the manifest")


def test_a_restore_over_the_populated_source_without_drop_fails_before_writing(scenario, backup_ids):
    occupied = run_playbook("restore", scenario.inventory)
    assert occupied.rc != 0
    assert any("restore_drop=true and restore_confirm=true" in m for m in occupied.failures())
    assert _counts(scenario.mongo_uri, scenario.shop) == SOURCE
    assert list(scenario.staging.iterdir()) == []


@pytest.fixture(scope="module")
def restored(scenario, backup_ids) -> PlaybookRun:
    """The latest backup restored into ``<shop>_restored`` (at -vvv)."""
    renamed = {"restore_ns_from": [f"{scenario.shop}.*"], "restore_ns_to": [f"{scenario.shop}_restored.*"]}
    run = run_playbook("restore", scenario.inventory, extra_vars=renamed, verbosity=3)
    assert run.rc == 0, run.tail()
    return run


def test_restore_into_a_new_database_restores_the_latest_backup(scenario, backup_ids, restored):
    downloaded = restored.result("Download the backup and check its SHA-256 against the manifest")
    assert downloaded["backup_id"] == backup_ids[2]
    assert _counts(scenario.mongo_uri, f"{scenario.shop}_restored") == SOURCE
    assert list(scenario.staging.iterdir()) == []


def test_restore_reports_manifest_and_restored_counts_side_by_side(scenario, restored):
    table = restored.result("Report the restore, manifest and restored counts side by side")["msg"]
    rows = [line.split() for line in table[2:]]
    assert sorted((row[0], row[1], row[2], row[3]) for row in rows) == sorted(
        (f"{scenario.shop}_restored.{name}", str(count), str(count), "yes") for name, count in SOURCE.items()
    )


def test_verbose_runs_never_show_the_s3_secret(backups, restored):
    for verbose in (backups[2], restored):  # the third backup and the restore ran at -vvv
        assert "ESTABLISH LOCAL CONNECTION" in verbose.output
        assert SECRET_KEY not in verbose.output


@pytest.fixture(scope="module")
def drill_kept(scenario, backup_ids) -> PlaybookRun:
    """The verify drill with ``verify_keep_scratch``: its scratch database stays."""
    run = run_playbook("verify", scenario.inventory, extra_vars={"verify_keep_scratch": True})
    assert run.rc == 0, run.tail()
    return run


def test_the_drill_passes_and_keeps_its_scratch_database_on_request(scenario, backup_ids, drill_kept):
    assert drill_kept.result("Report the drill")["msg"].startswith(
        f"PASS: backup {backup_ids[2]} of set shop-set"
    )
    assert _counts(scenario.mongo_uri, f"offsite_drill_{scenario.shop}") == SOURCE


def test_the_drill_drops_its_scratch_database_by_default(scenario, drill_kept):
    drill = run_playbook("verify", scenario.inventory)
    assert drill.rc == 0, drill.tail()
    scratch = f"offsite_drill_{scenario.shop}"
    assert drill.result("Drop the scratch databases of the drill")["dropped"] == [scratch]
    with pymongo.MongoClient(scenario.mongo_uri) as client:
        assert scratch not in client.list_database_names()
