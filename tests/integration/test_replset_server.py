"""The replica-set stand-in (tests/support/replset) keeps each promise tests/README.md makes, seen through pymongo."""

from __future__ import annotations

import base64
import socket
import struct
import threading
import time
import uuid

import bson
import pytest
from bson.binary import Binary
from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument
from bson.son import SON
from bson.timestamp import Timestamp
from pymongo import CursorType, MongoClient
from pymongo.errors import NotPrimaryError, OperationFailure
from support.replset import scram

from ansible_collections.offsite.mongodb.plugins.module_utils import (
    fsync_lock,
    mongo_node,
    oplog_capture,
    users_and_roles,
)

FAST = {"heartbeatFrequencyMS": 500, "serverSelectionTimeoutMS": 5000}


def fresh_db() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


def oplog_after(client: MongoClient, ts: Timestamp, db: str) -> list:
    """This test's oplog entries (its database only) after ``ts``, in oplog order."""
    oplog = client.local["oplog.rs"]
    query = {"$and": [{"ts": {"$gt": ts}}, {"ns": {"$in": [f"{db}.$cmd", f"{db}.c"]}}]}
    return list(oplog.find(query))


def newest_ts(client: MongoClient) -> Timestamp:
    return client.local["oplog.rs"].find_one({}, sort=[("$natural", -1)])["ts"]


# -- topology -------------------------------------------------------------------------------------
def test_discovery_sees_primary_secondary_and_arbiter_but_not_the_hidden_member(replica_set):
    with MongoClient(replica_set.uri, **FAST) as client:
        client.admin.command("ping")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not (client.secondaries and client.arbiters):
            time.sleep(0.1)

        def address(name):
            return ("127.0.0.1", replica_set.members[name][1])

        assert client.primary == address("primary")
        assert client.secondaries == {address("secondary")}
        assert client.arbiters == {address("arbiter")}
        assert address("hidden") not in client.nodes


def test_hello_fields_have_mongodbs_types(replica_set):
    with replica_set.client("primary") as client:
        hello = client.admin.command("hello")
    assert hello["setName"] == "rs0"
    assert hello["isWritablePrimary"] is True and hello["secondary"] is False
    assert hello["me"] == replica_set.host("primary") == hello["primary"]
    assert hello["hosts"] == [replica_set.host("primary"), replica_set.host("secondary")]
    assert hello["arbiters"] == [replica_set.host("arbiter")]
    assert replica_set.host("hidden") not in hello["hosts"] + hello.get("passives", [])
    assert isinstance(hello["topologyVersion"]["processId"], ObjectId)
    assert type(hello["topologyVersion"]["counter"]) is Int64
    assert (hello["minWireVersion"], hello["maxWireVersion"]) == (0, 21)
    assert hello["logicalSessionTimeoutMinutes"] == 30
    assert isinstance(hello["$clusterTime"]["clusterTime"], Timestamp)
    assert isinstance(hello["operationTime"], Timestamp)
    with replica_set.client("hidden") as client:
        hidden = client.admin.command("hello")
    assert hidden["hidden"] is True and hidden["secondary"] is True and hidden["isWritablePrimary"] is False
    assert hidden["me"] == replica_set.host("hidden")
    assert replica_set.host("hidden") not in hidden["hosts"]
    with MongoClient(replica_set.anonymous_uri("arbiter"), **FAST) as client:
        arbiter = client.admin.command("isMaster")
    assert arbiter["arbiterOnly"] is True and arbiter["ismaster"] is False
    with (
        MongoClient(replica_set.member_uri("arbiter"), **FAST) as client,
        pytest.raises(OperationFailure) as caught,
    ):
        client.admin.command("ping")  # an arbiter holds no users
    assert caught.value.code == 18


def test_a_priority_zero_member_is_listed_as_passive_and_found_by_discovery(make_replica_set):
    replica = make_replica_set(members=[("primary", "primary"), ("passive", "passive")])
    with replica.client("primary") as client:
        hello = client.admin.command("hello")
    assert hello["hosts"] == [replica.host("primary")] and hello["passives"] == [replica.host("passive")]
    with MongoClient(replica.uri, **FAST) as client:
        client.admin.command("ping")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and not client.secondaries:
            time.sleep(0.1)
        assert client.secondaries == {("127.0.0.1", replica.members["passive"][1])}


def _op_query(port: int, collection: str, query: dict) -> dict:
    """One legacy OP_QUERY (opCode 2004) and its OP_REPLY document, as the Go driver's first handshake."""
    body = (
        struct.pack("<i", 0) + collection.encode() + b"\x00" + struct.pack("<ii", 0, -1) + bson.encode(query)
    )
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(struct.pack("<iiii", 16 + len(body), 7, 0, 2004) + body)
        length, _unused, response_to, op_code = struct.unpack("<iiii", sock.recv(16, socket.MSG_WAITALL))
        data = sock.recv(length - 16, socket.MSG_WAITALL)
    assert (response_to, op_code) == (7, 1)
    return bson.decode(data[20:])


def test_legacy_op_query_is_master_and_other_op_query_commands_refused(replica_set):
    port = replica_set.members["secondary"][1]
    reply = _op_query(port, "admin.$cmd", {"isMaster": 1, "helloOk": True})
    assert reply["ismaster"] is False and reply["secondary"] is True and reply["setName"] == "rs0"
    assert reply["helloOk"] is True
    refused = _op_query(port, "admin.$cmd", {"ping": 1})
    assert (refused["ok"], refused["code"], refused["codeName"]) == (0.0, 352, "UnsupportedOpQueryCommand")


@pytest.mark.parametrize(("version", "wire"), [("5.0.9", 13), ("6.0.15", 17), ("8.0.4", 25)])
def test_claimed_version_sets_wire_version_and_build_info(make_replica_set, version, wire):
    replica = make_replica_set(version=version, members=[("primary", "primary")])
    with replica.client("primary") as client:
        assert client.admin.command("hello")["maxWireVersion"] == wire
        info = client.admin.command("buildInfo")
    assert info["version"] == version
    assert info["versionArray"] == [int(part) for part in version.split(".")] + [0]


def test_writes_to_a_secondary_answer_not_writable_primary_and_reads_work(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as primary:
        primary[db].c.insert_one({"_id": 1})
    with replica_set.client("secondary") as secondary:
        assert secondary[db].c.find_one() == {"_id": 1}  # direct: primaryPreferred, a shared data set
        with pytest.raises(NotPrimaryError) as caught:
            secondary[db].c.insert_one({"_id": 2})
    assert caught.value.details["code"] == 10107


def test_a_stopped_member_refuses_connections_then_comes_back(replica_set):
    port = replica_set.members["secondary"][1]
    with replica_set.client("secondary") as client:
        before = client.admin.command("hello")["topologyVersion"]["processId"]
    replica_set.stop_member("secondary")
    try:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
        with replica_set.client("primary") as client:
            status = client.admin.command("replSetGetStatus")
        down = next(m for m in status["members"] if m["name"] == replica_set.host("secondary"))
        assert (down["health"], down["state"]) == (0.0, 8)
        primary = next(m for m in status["members"] if m.get("self"))
        assert (primary["state"], primary["stateStr"], primary["optime"]["t"]) == (1, "PRIMARY", 1)
        assert primary["optimeDate"].year >= 2024
    finally:
        replica_set.start_member("secondary")
    with replica_set.client("secondary") as client:
        assert client.admin.command("ping")["ok"] == 1.0
        assert client.admin.command("hello")["topologyVersion"]["processId"] != before


# -- oplog ----------------------------------------------------------------------------------------
def test_every_write_kind_is_in_the_oplog_in_commit_order(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as client:
        start = newest_ts(client)
        client[db].create_collection("c", validationLevel="moderate")
        coll = client[db].c
        coll.insert_one({"_id": 1, "a": 1})
        coll.update_one({"_id": 1}, {"$set": {"a": 2, "b": 1}, "$unset": {"x": 1}})
        coll.replace_one({"_id": 1}, {"z": 9})
        coll.delete_one({"_id": 1})
        coll.create_index("z", name="z_1")
        coll.drop_index("z_1")
        uuid_ = client[db].command("listCollections")["cursor"]["firstBatch"][0]["info"]["uuid"]
        client[db].drop_collection("c")
        client.drop_database(db)
        client[db].other.insert_one({"_id": 2})
        client.drop_database(db)
        entries = oplog_after(client, start, db)
    kinds = [(e["op"], next(iter(e["o"]))) for e in entries]
    assert kinds == [
        ("c", "create"), ("i", "_id"), ("u", "$v"), ("u", "_id"), ("d", "_id"),
        ("c", "createIndexes"), ("c", "dropIndexes"), ("c", "drop"),
        ("c", "create"), ("c", "drop"), ("c", "dropDatabase"),
    ]  # fmt: skip
    stamps = [e["ts"] for e in entries]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps) and stamps[0] > start
    for entry in entries[:8]:
        assert entry["ui"] == uuid_ and entry["ui"].subtype == 4
        assert type(entry["t"]) is Int64 and entry["v"] == 2 and type(entry["v"]) is Int64
        assert entry["wall"].year >= 2024
    create, insert, update, replacement, delete, index = entries[:6]
    assert create["ns"] == f"{db}.$cmd" and create["o"]["validationLevel"] == "moderate"
    assert (insert["ns"], insert["o"], insert["o2"]) == (f"{db}.c", {"_id": 1, "a": 1}, {"_id": 1})
    assert update["o"] == {"$v": 2, "diff": {"u": {"a": 2}, "i": {"b": 1}}} and update["o2"] == {"_id": 1}
    assert replacement["o"] == {"_id": 1, "z": 9}
    assert delete["o"] == {"_id": 1}
    assert index["o"] == {"createIndexes": "c", "v": 2, "key": {"z": 1}, "name": "z_1"}
    assert entries[7]["o2"] == {"numRecords": 0}


def test_oplog_range_queries_and_natural_order_as_mongodump_sends_them(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as client:
        coll = client[db].c
        first = coll.insert_one({"n": 0}) and newest_ts(client)
        coll.insert_many([{"n": i} for i in range(1, 5)])
        last = newest_ts(client)
        oplog = client.local["oplog.rs"]
        window = list(
            oplog.find({"$and": [{"ts": {"$gte": first}}, {"ts": {"$lte": last}}]}, oplog_replay=True)
        )
        assert [e["o"]["n"] for e in window] == [0, 1, 2, 3, 4]
        assert [e["ts"] for e in oplog.find({"ts": {"$gt": first, "$lt": last}})] == [
            e["ts"] for e in window[1:4]
        ]
        newest = list(oplog.find({}).sort("$natural", -1).limit(1))
        oldest = oplog.find_one({}, sort=[("$natural", 1)])
        assert newest[0]["ts"] == last and oldest["ts"] < first
        assert oplog.find_one({}, sort=[("$natural", 1)])["o"] == {"msg": "initiating set"}


def test_the_oplog_rolls_over_at_its_size_cap(make_replica_set):
    replica = make_replica_set(oplog_size=20_000, members=[("primary", "primary")])
    with replica.client("primary") as client:
        oplog = client.local["oplog.rs"]
        first = oplog.find_one({}, sort=[("$natural", 1)])["ts"]
        tail = client.local.command("find", "oplog.rs", tailable=True, batchSize=1)["cursor"]
        assert tail["firstBatch"][0]["ts"] == first
        client.t.c.insert_many([{"pad": "x" * 500} for _unused in range(100)])
        with pytest.raises(OperationFailure) as caught:  # pymongo's cursors take 136 as "cursor closed"
            client.local.command("getMore", tail["id"], collection="oplog.rs")
        assert caught.value.code == 136  # CappedPositionLost: entries it had not read were removed
        oldest = oplog.find_one({}, sort=[("$natural", 1)])["ts"]
        stats = client.local.command("collStats", "oplog.rs")
        assert oldest > first
        assert stats["size"] <= 20_000 and stats["capped"] is True and stats["maxSize"] == 20_000
        assert oplog.find_one({"ts": first}) is None
        newest = oplog.find_one({}, sort=[("$natural", -1)])
        assert newest["o"]["pad"] == "x" * 500


def test_a_tailable_await_cursor_returns_a_later_write(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as client, replica_set.client("primary") as writer:
        start = newest_ts(client)
        cursor = client.local["oplog.rs"].find(
            {"ts": {"$gt": start}, "ns": f"{db}.c"}, cursor_type=CursorType.TAILABLE_AWAIT
        )
        cursor.max_await_time_ms(1500)
        assert next(cursor, None) is None and cursor.alive  # find: an empty first batch, the cursor stays
        began = time.monotonic()
        assert next(cursor, None) is None and cursor.alive  # getMore: waited for new entries, none came
        assert time.monotonic() - began >= 1.4
        timer = threading.Timer(0.3, lambda: writer[db].c.insert_one({"_id": "later"}))
        timer.start()
        began = time.monotonic()
        entry = None
        while entry is None and time.monotonic() - began < 5:
            entry = next(cursor, None)
        timer.join()
        cursor.close()
    assert entry is not None and entry["op"] == "i" and entry["o"] == {"_id": "later"}
    assert time.monotonic() - began < 1.4  # woken by the write, not by the await timeout


# -- applyOps -------------------------------------------------------------------------------------
def test_apply_ops_is_idempotent(replica_set):
    db = fresh_db()
    ns = f"{db}.c"
    ops = [
        {"op": "c", "ns": f"{db}.$cmd", "o": {"create": "c"}},
        {"op": "i", "ns": ns, "o": {"_id": 1, "a": 1}},
        {"op": "i", "ns": ns, "o": {"_id": 2, "a": 2, "arr": [1, 2, 3]}},
        {"op": "i", "ns": ns, "o": {"_id": 3}},
        {"op": "u", "ns": ns, "o2": {"_id": 1}, "o": {"$set": {"b": 1}, "$unset": {"a": True}}},
        {
            "op": "u",
            "ns": ns,
            "o2": {"_id": 2},
            "o": {"$v": 2, "diff": {"u": {"a": 20}, "sarr": {"a": True, "l": 2, "u1": 9}}},
        },
        {"op": "u", "ns": ns, "o2": {"_id": 4}, "o": {"_id": 4, "replaced": True}},
        {"op": "d", "ns": ns, "o": {"_id": 3}},
        {"op": "c", "ns": f"{db}.$cmd", "o": {"createIndexes": "c", "v": 2, "key": {"b": 1}, "name": "b_1"}},
        {"op": "n", "ns": "", "o": {"msg": "noop"}},
    ]
    expected = [{"_id": 1, "b": 1}, {"_id": 2, "a": 20, "arr": [1, 9]}, {"_id": 4, "replaced": True}]
    with replica_set.client("primary") as client:
        for _unused in range(2):
            reply = client.admin.command("applyOps", ops)
            assert (reply["ok"], reply["applied"], reply["results"]) == (1.0, len(ops), [True] * len(ops))
            assert list(client[db].c.find().sort("_id", 1)) == expected
        assert [i["name"] for i in client[db].c.list_indexes()] == ["_id_", "b_1"]
        with pytest.raises(OperationFailure) as caught:
            client.admin.command("applyOps", [{"op": "i", "ns": f"{db}.missing", "o": {"_id": 1}}])
    assert caught.value.code == 26


def test_apply_ops_finds_the_collection_by_ui_when_an_op_names_one(replica_set):
    """As a mongod does; why mongorestore strips ``ui`` unless --preserveUUID (replica-set-facts.md §4)."""
    db = fresh_db()
    kept = Binary(uuid.uuid4().bytes, 4)
    with replica_set.client("primary") as client:
        client.admin.command("applyOps", [{"op": "c", "ns": f"{db}.$cmd", "ui": kept, "o": {"create": "c"}}])
        assert client[db].command("listCollections")["cursor"]["firstBatch"][0]["info"]["uuid"] == kept
        client.admin.command("applyOps", [{"op": "i", "ns": f"{db}.c", "ui": kept, "o": {"_id": 1}}])
        assert client[db].c.find_one() == {"_id": 1}
        foreign = {"op": "i", "ns": f"{db}.c", "ui": Binary(uuid.uuid4().bytes, 4), "o": {"_id": 2}}
        with pytest.raises(OperationFailure) as caught:
            client.admin.command("applyOps", [foreign])
        assert caught.value.code == 26 and caught.value.details["applied"] == 1
        assert client[db].c.count_documents({}) == 1


def test_apply_ops_unwraps_a_plain_nested_batch_and_refuses_transaction_parts(replica_set):
    db = fresh_db()
    inner = [{"op": "i", "ns": f"{db}.c", "o": {"_id": n}} for n in (1, 2)]
    with replica_set.client("primary") as client:
        client[db].create_collection("c")
        client.admin.command("applyOps", [{"op": "c", "ns": "admin.$cmd", "o": {"applyOps": inner}}])
        assert client[db].c.count_documents({}) == 2
        partial = {
            "op": "c",
            "ns": "admin.$cmd",
            "o": {"applyOps": [{"op": "d", "ns": f"{db}.c", "o": {"_id": 1}}], "partialTxn": True},
        }
        with pytest.raises(OperationFailure) as caught:
            client.admin.command("applyOps", [partial])
        assert caught.value.code == 2 and client[db].c.count_documents({}) == 2


def test_replaying_the_oplog_of_writes_rebuilds_the_same_data(replica_set):
    """What a restore with oplog replay does: entries from one database, applied to another, give the same documents."""
    source, target = fresh_db(), fresh_db()
    with replica_set.client("primary") as client:
        start = newest_ts(client)
        coll = client[source].c
        coll.insert_many([{"_id": i, "n": i, "doc": {"x": i, "y": [i]}} for i in range(5)])
        coll.update_many({"n": {"$gte": 2}}, {"$inc": {"n": 10}, "$set": {"doc.x": "changed"}})
        coll.update_one({"_id": 0}, {"$unset": {"doc": ""}})
        coll.replace_one({"_id": 1}, {"only": 1})
        coll.delete_many({"n": {"$in": [12, 14]}})
        coll.update_one({"_id": 99}, {"$set": {"up": True}}, upsert=True)
        entries = []
        for raw in client.local.get_collection(
            "oplog.rs", codec_options=bson.CodecOptions(document_class=RawBSONDocument)
        ).find({"ts": {"$gt": start}}):
            entry = bson.decode(raw.raw, bson.CodecOptions(document_class=SON))
            if entry["ns"] in (f"{source}.$cmd", f"{source}.c"):
                entry["ns"] = entry["ns"].replace(source, target, 1)
                entry.pop("ui", None)
                entries.append(entry)
        client.admin.command("applyOps", entries)
        assert list(client[target].c.find().sort("_id", 1)) == list(coll.find().sort("_id", 1))


# -- fsync lock -----------------------------------------------------------------------------------
def test_fsync_lock_counts_and_holds_writes_until_the_last_unlock(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as admin, replica_set.client("primary") as other:
        other[db].c.insert_one({"_id": "before"})
        assert admin.admin.command("fsync", lock=True)["lockCount"] == Int64(1)
        reply = admin.admin.command("fsync", lock=True)
        assert reply["lockCount"] == 2 and type(reply["lockCount"]) is Int64
        done = threading.Event()
        writer = threading.Thread(target=lambda: (other[db].c.insert_one({"_id": "during"}), done.set()))
        try:
            assert admin.admin.command("currentOp")["fsyncLock"] is True
            writer.start()
            assert not done.wait(0.5)
            assert admin[db].c.find_one({"_id": "before"}) == {"_id": "before"}  # reads go on
            assert admin.admin.command("fsyncUnlock")["lockCount"] == 1
            assert not done.wait(0.3)
            assert admin[db].c.count_documents({}) == 1
        finally:
            last = admin.admin.command("fsyncUnlock")
        assert last["lockCount"] == 0 and last["info"] == "fsyncUnlock completed"
        assert done.wait(5)
        writer.join()
        assert admin[db].c.count_documents({}) == 2
        assert "fsyncLock" not in admin.admin.command("currentOp")
        with pytest.raises(OperationFailure) as caught:
            admin.admin.command("fsyncUnlock")
    assert (caught.value.code, caught.value.details["codeName"]) == (20, "IllegalOperation")
    assert caught.value.details["errmsg"] == "fsyncUnlock called when not locked"


# -- logins, users and roles ----------------------------------------------------------------------
def test_scram_sha_256_login_succeeds_and_a_wrong_password_fails_with_code_18(replica_set):
    with replica_set.client("primary") as client:
        status = client.admin.command("connectionStatus")
    assert status["authInfo"]["authenticatedUsers"] == [{"user": "root", "db": "admin"}]
    wrong = replica_set.member_uri("primary", password="wrong")
    with MongoClient(wrong, serverSelectionTimeoutMS=3000) as bad, pytest.raises(OperationFailure) as caught:
        bad.admin.command("ping")
    assert caught.value.code == 18
    with MongoClient(replica_set.anonymous_uri("primary"), serverSelectionTimeoutMS=3000) as anonymous:
        assert anonymous.admin.command("ping")["ok"] == 1.0
        with pytest.raises(OperationFailure) as caught:
            anonymous.admin.command("listDatabases")
    assert caught.value.code == 13


def test_the_scram_server_side_matches_the_rfc_7677_test_vector():
    """RFC 7677 section 3: user "user", password "pencil", 4096 iterations."""
    salt = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
    credentials = scram.make_credentials("pencil", iterations=4096, salt=salt)
    conversation = scram.Conversation.start(
        "n,,n=user,r=rOprNGfwEbeRWgbNEkqO", credentials, server_nonce="%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    )
    nonce = "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
    assert conversation.server_first == f"r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"
    final = f"c=biws,r={nonce},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
    assert conversation.finish(final) == "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="
    wrong = f"c=biws,r={nonce},p=" + base64.b64encode(b"\x00" * 32).decode()
    assert conversation.finish(wrong) is None


def test_users_and_roles_survive_a_merge_and_the_restored_user_can_log_in(replica_set):
    """mongorestore's path (replica-set-facts.md §6), driven by the collection's own restore code."""
    db = fresh_db()
    with replica_set.client("primary") as client:
        client[db].command("createRole", "reporter", privileges=[], roles=["read"])
        client[db].command("createUser", "app", pwd="s3cret", roles=["reporter"])
        users = [
            d.raw
            for d in client.admin.get_collection(
                "system.users", codec_options=bson.CodecOptions(document_class=RawBSONDocument)
            ).find({"db": db})
        ]
        roles = [
            d.raw
            for d in client.admin.get_collection(
                "system.roles", codec_options=bson.CodecOptions(document_class=RawBSONDocument)
            ).find({"db": db})
        ]
        client[db].command("dropUser", "app")
        client[db].command("dropRole", "reporter")
        assert client[db].command("usersInfo", "app")["users"] == []
        users_and_roles.merge_users_and_roles(client, users, roles, drop=False)
        info = client[db].command("usersInfo", "app")["users"]
        assert [(u["user"], u["db"], u["roles"]) for u in info] == [
            ("app", db, [{"role": "reporter", "db": db}])
        ]
        assert client[db].command("rolesInfo", "reporter")["roles"][0]["roles"] == [
            {"role": "read", "db": db}
        ]
        assert "tempusers" not in client.admin.list_collection_names()
        client[db].command("createUser", "extra", pwd="x", roles=[])
        users_and_roles.merge_users_and_roles(client, users, roles, drop=False)  # keeps users the dump lacks
        assert {u["user"] for u in client[db].command("usersInfo", 1)["users"]} == {"app", "extra"}
        client.admin.tempusers.insert_many([RawBSONDocument(raw) for raw in users])
        merge = SON([("_mergeAuthzCollections", 1), ("tempUsersCollection", "admin.tempusers")])
        client.admin.command(merge, db=db, drop=True)  # drop, scoped to db: that db's users are the dump's
        client.admin.drop_collection("tempusers")
        assert {u["user"] for u in client[db].command("usersInfo", 1)["users"]} == {"app"}
        assert client.admin.command("usersInfo", {"user": "root", "db": "admin"})[
            "users"
        ]  # other dbs untouched
    uri = replica_set.member_uri("primary", user="app", password="s3cret").replace(
        "authSource=admin", f"authSource={db}"
    )
    with MongoClient(uri, serverSelectionTimeoutMS=3000) as app:
        assert app.admin.command("connectionStatus")["authInfo"]["authenticatedUsers"] == [
            {"user": "app", "db": db}
        ]


# -- commands a dump and a restore send -----------------------------------------------------------
def test_catalog_and_data_commands_answer_like_a_mongod(replica_set):
    db = fresh_db()
    with replica_set.client("primary") as client:
        client[db].create_collection("c", capped=True, size=4096)
        coll = client[db].c
        coll.insert_many([{"_id": i, "k": i % 3, "tag": ["a", "b"][i % 2]} for i in range(10)])
        coll.create_index([("k", 1)], name="k_1", unique=True)
        (spec,) = client[db].list_collections()
        assert spec["options"] == {"capped": True, "size": 4096} and isinstance(spec["info"]["uuid"], Binary)
        assert [i["name"] for i in coll.list_indexes()] == ["_id_", "k_1"]
        assert coll.estimated_document_count() == 10 and coll.count_documents({"k": {"$in": [0, 1]}}) == 7
        assert [
            d["_id"]
            for d in coll.find({"$and": [{"_id": {"$gte": 3}}, {"tag": "a"}]}, {"_id": 1}).sort("_id", -1)
        ] == [8, 6, 4]
        assert len(list(coll.find().batch_size(3))) == 10
        assert list(coll.aggregate([{"$match": {"k": 0}}, {"$count": "n"}])) == [{"n": 4}]
        assert client[db].command("collStats", "c")["count"] == 10
        assert client[db].command("dbStats")["objects"] == 10
        assert db in client.list_database_names()
        assert client.admin.command("getParameter", 1, authSchemaVersion=1)["authSchemaVersion"] == 5
        coll.update_many({"k": 0}, {"$inc": {"hits": 1}})
        assert coll.find_one({"_id": 3}) == {"_id": 3, "k": 0, "tag": "b", "hits": 1}
        with client.start_session() as session:
            assert coll.find_one({"_id": 0}, session=session)["hits"] == 1


def _snapshot_find(client: MongoClient, db: str, at: Timestamp = None) -> dict:
    concern = {"level": "snapshot", **({"atClusterTime": at} if at else {})}
    return client[db].command(SON([("find", "c"), ("readConcern", concern), ("sort", {"_id": 1})]))["cursor"]


def test_snapshot_reads_see_the_data_as_of_their_cluster_time(replica_set):
    """What consistency=snapshot relies on: later inserts, updates, deletes and drops stay invisible."""
    db = fresh_db()
    with replica_set.client("primary") as client:
        client[db].c.insert_many([{"_id": 1, "v": "old"}, {"_id": 2}])
        at = _snapshot_find(client, db)["atClusterTime"]
        assert isinstance(at, Timestamp) and at == newest_ts(client)
        client[db].c.update_one({"_id": 1}, {"$set": {"v": "new"}})
        client[db].c.delete_one({"_id": 2})
        client[db].c.insert_one({"_id": 3})
        assert _snapshot_find(client, db, at)["firstBatch"] == [{"_id": 1, "v": "old"}, {"_id": 2}]
        client[db].drop_collection("c")
        assert _snapshot_find(client, db, at)["firstBatch"] == [{"_id": 1, "v": "old"}, {"_id": 2}]
        assert _snapshot_find(client, db)["firstBatch"] == []
        with pytest.raises(OperationFailure) as caught:
            _snapshot_find(client, db, Timestamp(at.time + 3600, 1))
    assert caught.value.code == 2


def test_unsupported_commands_answer_mongodbs_error_shape(replica_set):
    with replica_set.client("primary") as client:
        for name in ("atlasVersion", "frobnicate"):
            with pytest.raises(OperationFailure) as caught:
                client.admin.command(name)
            details = caught.value.details
            assert (details["ok"], details["code"], details["codeName"]) == (0.0, 59, "CommandNotFound")
            assert details["errmsg"] == f"no such command: '{name}'"
        with pytest.raises(OperationFailure) as caught:
            client.t.c.find_one({"a": {"$where": "1"}})
        assert caught.value.code == 2 and "unknown operator: $where" in caught.value.details["errmsg"]
        assert client.admin.command("ping")["ok"] == 1.0  # still serving
    port = replica_set.members["primary"][1]
    for junk in (
        struct.pack("<iiii", 21, 1, 0, 2013) + b"\x00\x00\x00\x00\x00",
        struct.pack("<iiii", 16, 1, 0, 2002),
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(junk)  # a broken OP_MSG, then a removed opcode (OP_INSERT): the server hangs up
            assert sock.recv(16) == b""
    with replica_set.client("primary") as client:
        assert client.admin.command("ping")["ok"] == 1.0


# -- the collection's own code against it ---------------------------------------------------------
class _Batches:
    """Stands in for an archive namespace: keeps the raw batches OplogCapture writes."""

    def __init__(self) -> None:
        self.docs: list = []

    def write(self, batch: bytes) -> int:
        docs = bson.decode_all(batch)
        self.docs.extend(docs)
        return len(docs)


def summary_end(summary: dict) -> Timestamp:
    return Timestamp(summary["last"]["t"], summary["last"]["i"])


def test_the_collections_node_oplog_and_lock_code_works_against_it(replica_set):
    db = fresh_db()
    with replica_set.client("hidden") as hidden, replica_set.client("primary") as primary:
        node = mongo_node.read_node(hidden)
        assert (node.kind, node.set_name, node.hidden, node.version) == ("secondary", "rs0", True, (7, 0, 12))
        capture = oplog_capture.OplogCapture(hidden)
        start = capture.begin("the hidden member")
        primary[db].c.insert_many([{"_id": i} for i in range(3)])
        stream = _Batches()
        summary = capture.write(stream, "the hidden member")
        assert stream.docs[0]["ts"] == start and summary["count"] == len(stream.docs)
        assert [d["o"] for d in stream.docs if d["ns"] == f"{db}.c"] == [{"_id": 0}, {"_id": 1}, {"_id": 2}]
        assert fsync_lock.ensure_locked(hidden).lock_count == 1 and fsync_lock.is_locked(hidden)
        assert not fsync_lock.is_locked(primary)  # the lock count is per member, as on MongoDB
        primary[db].c.insert_one({"_id": "while locked"})  # the primary takes writes meanwhile
        assert hidden[db].c.count_documents({}) == 3  # the locked member applies nothing new
        assert capture.last_timestamp("the hidden member") == summary_end(summary)
        assert fsync_lock.unlock_all(hidden).lock_count == 0 and not fsync_lock.is_locked(hidden)
        assert hidden[db].c.count_documents({}) == 4
