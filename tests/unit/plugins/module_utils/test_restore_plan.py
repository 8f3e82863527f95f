"""Restore planning: which archive namespaces go where, and what is refused before any write."""

from __future__ import annotations

import io
from typing import Dict, List

import bson
import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    PreludeEntry,
    metadata_json,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import ArchiveReader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import (
    RestorePlan,
    plan_targets,
    refuse_conflicts,
    write_concern,
)
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import build

NO_INDEXES = metadata_json({"indexes": []})


def entry(ns: str, kind: str = "collection", metadata: str = NO_INDEXES) -> PreludeEntry:
    db, collection = ns.split(".", 1)
    return PreludeEntry(db, collection, metadata, kind)


def reader_of(*entries: PreludeEntry, server_version: str = "7.0.12") -> ArchiveReader:
    data = build([(e, [bson.encode({"_id": 1})]) for e in entries], server_version=server_version)
    return ArchiveReader(io.BytesIO(data))


ARCHIVE = (
    entry("admin.system.users"),
    entry("admin.system.roles"),
    entry("admin.system.version"),
    entry("shop.orders"),
    entry("shop.tmp_cache"),
    entry("shop.system.views"),
    entry("shop.recent", "view", metadata_json({"options": {"viewOn": "orders", "pipeline": []}})),
    entry("metrics.cpu", "timeseries", metadata_json({"options": {"timeseries": {"timeField": "t"}}})),
    entry("hr.people"),
    PreludeEntry("", "oplog"),
)


def targets(plan: RestorePlan, *entries: PreludeEntry, **kwargs) -> Dict[str, str]:
    """Body namespace -> target namespace."""
    return {body: t.ns for body, t in plan_targets(reader_of(*(entries or ARCHIVE), **kwargs), plan).items()}


def test_by_default_every_data_namespace_is_restored_under_its_own_name():
    assert targets(RestorePlan()) == {
        "shop.orders": "shop.orders",
        "shop.tmp_cache": "shop.tmp_cache",
        "shop.recent": "shop.recent",
        "metrics.system.buckets.cpu": "metrics.cpu",  # timeseries data lives in its buckets before 8.3
        "hr.people": "hr.people",
    }


def test_kinds_come_from_the_prelude_or_the_metadata():
    planned = plan_targets(reader_of(*ARCHIVE), RestorePlan())
    kinds = {t.ns: t.kind for t in planned.values()}
    assert kinds["shop.recent"] == "view" and kinds["metrics.cpu"] == "timeseries"
    assert kinds["shop.orders"] == "collection"
    legacy_view = entry("shop.v", "", metadata_json({"options": {"viewOn": "orders", "pipeline": []}}))
    assert [t.kind for t in plan_targets(reader_of(legacy_view), RestorePlan()).values()] == ["view"]


def test_include_and_exclude_filter_by_the_archive_names():
    plan = RestorePlan(include=["shop.*"], exclude=["shop.tmp*"])
    assert targets(plan) == {"shop.orders": "shop.orders", "shop.recent": "shop.recent"}


def test_renames_map_targets_and_leave_the_rest():
    plan = RestorePlan(ns_from=["shop.*"], ns_to=["shop_restored.*"], exclude=["metrics.*"])
    assert targets(plan) == {
        "shop.orders": "shop_restored.orders",
        "shop.tmp_cache": "shop_restored.tmp_cache",
        "shop.recent": "shop_restored.recent",
        "hr.people": "hr.people",
    }
    source = plan_targets(reader_of(*ARCHIVE), plan)["shop.orders"]
    assert (source.source, source.db, source.collection) == ("shop.orders", "shop_restored", "orders")


def test_users_roles_and_oplog_take_their_own_paths_only_when_asked():
    asked = plan_targets(reader_of(*ARCHIVE), RestorePlan(users_and_roles=True, oplog_replay=True))
    special = {body: t.kind for body, t in asked.items() if t.kind in ("users", "roles", "oplog")}
    assert special == {"admin.system.users": "users", "admin.system.roles": "roles", ".oplog": "oplog"}
    assert "admin.system.version" not in asked


@pytest.mark.parametrize("system_db", ["admin", "local", "config"])
def test_restoring_into_a_system_database_is_refused(system_db):
    plan = RestorePlan(ns_from=["hr.*"], ns_to=[f"{system_db}.*"], include=["hr.*"])
    with pytest.raises(
        OffsiteError, match=f"refusing to restore hr.people into the system database {system_db}"
    ):
        plan_targets(reader_of(*ARCHIVE), plan)


def test_a_data_namespace_of_a_system_database_in_the_archive_is_refused():
    with pytest.raises(OffsiteError, match=r"exclude it \(exclude: \['config.settings'\]\)"):
        plan_targets(reader_of(entry("config.settings"), entry("shop.orders")), RestorePlan())
    allowed = plan_targets(
        reader_of(entry("config.settings"), entry("shop.orders")), RestorePlan(exclude=["config.*"])
    )
    assert list(allowed) == ["shop.orders"]


def test_a_rename_without_a_collection_part_is_refused():
    plan = RestorePlan(ns_from=["shop.$c$"], ns_to=["$c$."])
    with pytest.raises(
        OffsiteError, match=r"ns_to maps shop.orders to 'orders.', which has no collection part"
    ):
        plan_targets(reader_of(entry("shop.orders")), plan)


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (RestorePlan(ns_from=["a.*"], ns_to=["b.*"], oplog_replay=True), "oplog_replay cannot be combined"),
        (RestorePlan(parallel_collections=0), "parallel_collections must be between 1 and 100, got 0"),
        (RestorePlan(insertion_workers=101), "insertion_workers must be between 1 and 100, got 101"),
        (RestorePlan(include=["nodot"]), "include pattern 'nodot' must look like db.collection"),
        (RestorePlan(write_concern={"x": 1}), "write_concern .* is not valid"),
    ],
)
def test_inconsistent_plans_are_refused(plan, message):
    with pytest.raises(OffsiteError, match=message):
        plan.check()


def test_write_concerns():
    assert write_concern(None) is None and write_concern("") is None
    assert write_concern("majority").document == {"w": "majority"}
    assert write_concern("2").document == {"w": 2}
    assert write_concern({"w": 1, "j": True}).document == {"w": 1, "j": True}


class _Collection:
    def __init__(self, documents: List[dict]) -> None:
        self.documents = documents

    def find_one(self, *args, **kwargs):
        return self.documents[0] if self.documents else None


class _Database:
    def __init__(self, collections: Dict[str, List[dict]]) -> None:
        self.collections = collections

    def list_collection_names(self):
        return list(self.collections)

    def __getitem__(self, name):
        return _Collection(self.collections.get(name, []))


class _Client:
    """Just enough of a MongoClient for the conflict checks: names and whether a collection holds documents."""

    def __init__(self, databases: Dict[str, Dict[str, List[dict]]]) -> None:
        self.databases = databases

    def __getitem__(self, name):
        return _Database(self.databases.get(name, {}))


def planned(plan: RestorePlan, *entries: PreludeEntry):
    return list(plan_targets(reader_of(*entries), plan).values())


def test_two_sources_renamed_onto_one_target_are_refused():
    plan = RestorePlan(ns_from=["a.x", "b.x"], ns_to=["c.x", "c.x"])
    with pytest.raises(
        OffsiteError, match=r"a\.x and b\.x would both be restored into c\.x: fix ns_from/ns_to"
    ):
        refuse_conflicts(_Client({}), planned(plan, entry("a.x"), entry("b.x")), plan)


def test_targets_holding_documents_are_refused_without_drop():
    client = _Client({"shop": {"orders": [{"_id": 1}], "empty": []}})
    entries = (entry("shop.orders"), entry("shop.empty"), entry("shop.new"))
    with pytest.raises(
        OffsiteError, match=r"already hold documents \(or are views\): shop.orders; set drop: true"
    ):
        refuse_conflicts(client, planned(RestorePlan(), *entries), RestorePlan())
    existing, present = refuse_conflicts(
        client, planned(RestorePlan(drop=True), *entries), RestorePlan(drop=True)
    )
    assert existing == {"shop": ["orders", "empty"]}
    assert sorted(t.ns for t in present) == ["shop.empty", "shop.orders"]


def test_an_empty_existing_collection_is_no_conflict_but_an_existing_view_is():
    client = _Client({"shop": {"empty": [], "recent": []}})
    view = entry("shop.recent", "view", metadata_json({"options": {"viewOn": "orders", "pipeline": []}}))
    _existing, present = refuse_conflicts(client, planned(RestorePlan(), entry("shop.empty")), RestorePlan())
    assert [t.ns for t in present] == ["shop.empty"]
    with pytest.raises(OffsiteError, match=r"shop\.recent"):
        refuse_conflicts(client, planned(RestorePlan(), view), RestorePlan())
