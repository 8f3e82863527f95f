"""mongo_drop_database: drops what exists, reports what does not, never the system databases."""

from __future__ import annotations

import pymongo
from support.ansible_runner import run_module


def test_drops_existing_databases_idempotently_and_honours_check_mode(mongo_uri):
    client = pymongo.MongoClient(mongo_uri)
    client.drill_a.c.insert_one({"x": 1})
    client.drill_b.c.insert_one({"x": 2})

    planned = run_module(
        "mongo_drop_database", {"uri": mongo_uri, "names": ["drill_a", "drill_none"]}, check=True
    )
    assert (planned["changed"], planned["dropped"], planned["absent"]) == (True, ["drill_a"], ["drill_none"])
    assert "drill_a" in client.list_database_names()

    dropped = run_module("mongo_drop_database", {"uri": mongo_uri, "names": ["drill_a", "drill_b"]})
    assert (dropped["changed"], dropped["dropped"]) == (True, ["drill_a", "drill_b"])
    assert not {"drill_a", "drill_b"} & set(client.list_database_names())

    again = run_module("mongo_drop_database", {"uri": mongo_uri, "names": ["drill_a"]})
    assert (again["changed"], again["absent"]) == (False, ["drill_a"])


def test_refuses_system_databases_with_one_line(mongo_uri):
    refused = run_module("mongo_drop_database", {"uri": mongo_uri, "names": ["drill_x", "admin"]})
    assert refused["failed"] is True
    assert refused["msg"].startswith("refusing to drop admin:")
    assert "\n" not in refused["msg"]
