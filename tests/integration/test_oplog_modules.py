"""The oplog modules as operators run them (ansible -m): archive with check mode and idempotence, plan and
replay to a point, list showing windows, prune keeping what kept backups need."""

from __future__ import annotations

import pytest
from support.ansible_runner import run_module

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.backup_id import new_backup_id
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

PREFIX = "pitr-mod"


@pytest.fixture
def s3_args(s3_endpoint, s3_bucket):
    return {
        "bucket": s3_bucket, "prefix": PREFIX, "endpoint_url": s3_endpoint.endpoint_url,
        "region": s3_endpoint.region, "access_key": s3_endpoint.access_key, "secret_key": s3_endpoint.secret_key,
    }  # fmt: skip


def test_archive_plan_replay_list_and_prune_through_ansible(
    make_replica_set, s3_endpoint, s3_bucket, s3_args
):
    source = make_replica_set(set_name="rsm")
    target = make_replica_set(set_name="rtm")
    src = source.client("primary")
    archive = {**s3_args, "uri": source.member_uri("hidden")}
    src.shop.orders.insert_many([{"_id": i, "v": 0} for i in range(10)])
    catalog = Catalog(s3_endpoint.client(), s3_bucket, PREFIX)
    plan = DumpPlan(consistency="oplog", include=["shop.*"])
    old = dump_to_catalog(
        lambda: source.client("primary"), catalog, "rsm", plan, backup_id=new_backup_id(suffix="a")
    )
    src.shop.orders.update_one({"_id": 1}, {"$set": {"v": 1}})

    preview = run_module("mongo_oplog_archive", archive, check=True)
    assert preview["changed"] is True and preview["slice"]["count"] == 1, preview["_stdout"]
    assert (
        run_module("mongo_oplog_archive", archive, check=True)["slice"]["count"] == 1
    )  # check mode wrote nothing
    first = run_module("mongo_oplog_archive", archive)
    assert first["changed"] is True and first["set_name"] == "rsm" and first["slice"]["count"] == 1
    assert first["start"]["from"] == f"backup {old['backup_id']}"
    assert run_module("mongo_oplog_archive", archive)["changed"] is False
    assert s3_endpoint.secret_key not in first["_stdout"]

    new = dump_to_catalog(
        lambda: source.client("primary"), catalog, "rsm", plan, backup_id=new_backup_id(suffix="b")
    )
    src.shop.orders.delete_one({"_id": 2})
    second = run_module("mongo_oplog_archive", archive)
    assert second["slice"]["after"] == first["slice"]["last"]  # the chain goes on past the new backup

    point = first["slice"]["last"]["ts"]
    planned = run_module("mongo_oplog_replay", {**s3_args, "set_name": "rsm", "to": point}, check=True)
    assert planned["backup_id"] == new["backup_id"], planned[
        "_stdout"
    ]  # consistent exactly at the point: no slices
    assert planned["plan"]["slices"] == [] and planned["changed"] is False
    assert len(planned["windows"]) == 1 and planned["gaps"] == []
    forced = {**s3_args, "set_name": "rsm", "to": point, "backup_id": old["backup_id"]}
    assert run_module("mongo_oplog_replay", forced, check=True)["plan"]["slices"] == [
        first["slice"]["folder"]
    ]
    refused = run_module(
        "mongo_oplog_replay", {**s3_args, "set_name": "rsm", "to": "2001-01-01T00:00:00Z"}, check=True
    )
    assert refused["failed"] and "nothing was written" in refused["msg"]

    client = target.client("primary")
    restore_archive(
        client,
        catalog.download_stream(catalog.resolve("rsm", old["backup_id"])),
        RestorePlan(oplog_replay=True),
    )
    replay = {
        **s3_args,
        "set_name": "rsm",
        "to": point,
        "backup_id": old["backup_id"],
        "uri": target.member_uri("primary"),
    }
    replayed = run_module("mongo_oplog_replay", replay)
    assert replayed["changed"] is True and replayed["reached"]["ts"] == point, replayed["_stdout"]
    assert replayed["entries_applied"] == 1 and replayed["namespaces"] == {"shop.orders": 1}
    assert client.shop.orders.find_one({"_id": 1})["v"] == 1 and client.shop.orders.count_documents({}) == 10

    listed = run_module("s3_backup_archive_info", {**s3_args, "set_name": "rsm"})
    assert listed["foreign_keys"] == [] and listed["oplog"]["rsm"]["slices"] == 2
    assert listed["oplog"]["rsm"]["windows"][0]["to"] == second["slice"]["last"]

    prune = {**s3_args, "mode": "prune", "set_name": "rsm", "keep_last": 1}
    dry = run_module("s3_backup_archive", prune, check=True)
    assert [r["backup_id"] for r in dry["removed"]] == [old["backup_id"]]
    assert dry["oplog"]["removed_slices"] == [first["slice"]["folder"]]  # ends before the kept backup's end
    assert dry["oplog"]["windows"][0]["from"]["t"] == new["manifest"]["consistency"]["oplog"]["last"]["t"]
    pruned = run_module("s3_backup_archive", prune)
    assert pruned["changed"] is True and pruned["oplog"] == dry["oplog"]
    assert run_module("s3_backup_archive_info", {**s3_args, "set_name": "rsm"})["oplog"]["rsm"]["slices"] == 1
