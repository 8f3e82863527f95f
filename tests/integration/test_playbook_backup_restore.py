"""End to end: the collection's playbooks against the stand-ins (nx-27017 and moto), as an operator runs them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any, Dict

import pymongo
import pytest
from support.playbook_runner import run_playbook, write_inventory

SECRET_KEY = f"S3-secret-{uuid.uuid4().hex}"  # moto accepts any key; a unique one can be searched for


def _connection_vars(mongo_uri: str, s3_endpoint, bucket: str, staging: Path) -> Dict[str, Any]:
    return {
        "offsite_mongodb_connection": {"uri": mongo_uri},
        "offsite_s3_connection": {
            "endpoint_url": s3_endpoint.endpoint_url,
            "region": s3_endpoint.region,
            "access_key": s3_endpoint.access_key,
            "secret_key": s3_endpoint.secret_key if s3_endpoint.real else SECRET_KEY,
        },
        "offsite_s3_bucket": bucket,
        "backup_consistency": "none",  # nx-27017 is a standalone whose fsync lock is a no-op: auto would refuse it
        "backup_staging_dir": str(staging),
        "restore_staging_dir": str(staging),
    }


@pytest.fixture
def shop(mongo_uri):
    """A database with three collections of known sizes; dropped afterwards (with its restored copies)."""
    name = f"shop_{uuid.uuid4().hex[:8]}"
    client = pymongo.MongoClient(mongo_uri)
    db = client[name]
    db["customers"].insert_many([{"_id": i, "name": f"c{i}"} for i in range(300)])
    db["orders"].insert_many([{"customer": i % 300, "total": i} for i in range(1200)])
    db["products"].insert_many([{"sku": f"p{i}"} for i in range(40)])
    yield name
    for database in client.list_database_names():
        if database.startswith(name) or database.startswith(f"offsite_drill_{name}"):
            client.drop_database(database)
    client.close()


def _counts(mongo_uri: str, database: str) -> Dict[str, int]:
    with pymongo.MongoClient(mongo_uri) as client:
        db = client[database]
        return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}


def test_backup_list_restore_verify_and_retention(tmp_path, mongo_uri, s3_endpoint, s3_bucket, shop) -> None:
    """backup x3 (retention keep_last 2) -> list -> restore refused without confirmation -> restore -> verify."""
    staging = tmp_path / "staging"
    staging.mkdir()
    inventory = write_inventory(
        tmp_path / "hosts.yml",
        {
            **_connection_vars(mongo_uri, s3_endpoint, s3_bucket, staging),
            "backup_set_name": "shop-set",
            "restore_set_name": "shop-set",
            "verify_set_name": "shop-set",
            "backup_databases": [shop],
            "backup_retention": {"keep_last": 2},
            "backup_labels": {"env": "test"},
            "backup_metrics_dir": str(tmp_path),
        },
    )
    source = _counts(mongo_uri, shop)
    assert source == {"customers": 300, "orders": 1200, "products": 40}

    # Three backups; retention keeps the newest two.
    # Without a lock, auto staging streams straight to S3; the second run stages on disk.
    ids = []
    for run_number, staging_mode in enumerate(["stream", "disk", "stream"]):
        extra = {"backup_staging": "disk"} if staging_mode == "disk" else {}
        run = run_playbook("backup", inventory, verbosity=3 if run_number == 2 else 0, extra_vars=extra)
        assert run.rc == 0, run.tail()
        report = run.result("Report the backup")["msg"]
        assert report["set"] == "shop-set"
        assert report["documents"] == 1540
        assert report["staging"] == staging_mode
        assert report["location"].startswith(f"s3://{s3_bucket}/")
        ids.append(report["backup_id"])
        pruned = run.result("Apply the retention rules to the set")
        assert [r["backup_id"] for r in pruned["removed"]] == ([ids[0]] if run_number == 2 else [])
    assert len(set(ids)) == 3
    assert list(staging.iterdir()) == []  # staging removed after every run
    run_metrics = (tmp_path / "offsite_mongodb_backup_shop_set_run.prom").read_text()
    success_metrics = (tmp_path / "offsite_mongodb_backup_shop_set_success.prom").read_text()
    assert f'offsite_mongodb_backup_last_run_success{{set="shop-set",bucket="{s3_bucket}"}} 1' in run_metrics
    assert 'offsite_mongodb_backup_last_success_documents{set="shop-set"' in success_metrics
    assert success_metrics.rstrip().endswith(" 1540")

    listing = run_playbook("list", inventory)
    assert listing.rc == 0, listing.tail()
    table = listing.result("Show the catalog, newest first")["msg"]
    assert [line.split()[1] for line in table[1:-1]] == [ids[2], ids[1]]
    assert all("1540" in line and "yes" in line and '"env": "test"' in line for line in table[1:-1])
    assert table[-1] == "2 backup(s)"

    # A destructive restore without confirmation stops before touching anything.
    refused = run_playbook("restore", inventory, extra_vars={"restore_drop": True})
    assert refused.rc != 0
    assert any("Set restore_confirm=true" in m for m in refused.failures())
    assert not refused.ran("Ask the local node what it is")
    assert not refused.ran("Download the backup and check its SHA-256 against the manifest")

    # Restoring over the populated source without drop fails before writing and says what to set.
    occupied = run_playbook("restore", inventory)
    assert occupied.rc != 0
    assert any("restore_drop=true and restore_confirm=true" in m for m in occupied.failures())
    assert _counts(mongo_uri, shop) == source
    assert list(staging.iterdir()) == []

    # Restore the latest backup into a new database; counts equal, side by side.
    renamed = {"restore_ns_from": [f"{shop}.*"], "restore_ns_to": [f"{shop}_restored.*"]}
    restored = run_playbook("restore", inventory, extra_vars=renamed, verbosity=3)
    assert restored.rc == 0, restored.tail()
    for verbose in (run, restored):  # the third backup and this restore ran at -vvv
        assert "ESTABLISH LOCAL CONNECTION" in verbose.output
        assert SECRET_KEY not in verbose.output
    assert (
        restored.result("Download the backup and check its SHA-256 against the manifest")["backup_id"]
        == ids[2]
    )
    assert _counts(mongo_uri, f"{shop}_restored") == source
    table = restored.result("Report the restore, manifest and restored counts side by side")["msg"]
    assert f"{shop}_restored.orders" in "\n".join(table)
    rows = [line.split() for line in table[2:]]
    assert sorted((row[0], row[1], row[2], row[3]) for row in rows) == sorted(
        (f"{shop}_restored.{name}", str(count), str(count), "yes") for name, count in source.items()
    )
    assert list(staging.iterdir()) == []

    # The drill restores into scratch databases and passes; kept on request, dropped by default.
    drill = run_playbook("verify", inventory, extra_vars={"verify_keep_scratch": True})
    assert drill.rc == 0, drill.tail()
    assert drill.result("Report the drill")["msg"].startswith(f"PASS: backup {ids[2]} of set shop-set")
    assert _counts(mongo_uri, f"offsite_drill_{shop}") == source
    drill = run_playbook("verify", inventory)
    assert drill.rc == 0, drill.tail()
    assert drill.result("Drop the scratch databases of the drill")["dropped"] == [f"offsite_drill_{shop}"]
    assert f"offsite_drill_{shop}" not in pymongo.MongoClient(mongo_uri).list_database_names()
