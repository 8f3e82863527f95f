"""Document commands: find, getMore, killCursors, count, aggregate, insert, update, delete.

Shapes from the manual pages of each command. Reads of ``local.oplog.rs`` are what mongodump
and this collection send (mongo-tools ``mongodump/oplog_dump.go``; replica-set-facts.md §2):
``{ts: {$gte, $lte}}`` or ``$and`` ranges, ``sort: {$natural: ±1}``, ``limit``,
``singleBatch``, ``oplogReplay`` (accepted, no effect), and tailable/awaitData cursors.
``readConcern`` levels are accepted; ``snapshot`` answers ``atClusterTime`` (the latest cluster
time when none is given) and reads the documents as of that time (``history``), or fails with
SnapshotTooOld (239) past the history window.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import bson
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

from . import pipeline
from .catalog import Store
from .cursors import Cursor, TailCursor
from .diff import make_diff
from .errors import CommandError
from .matcher import matches, project, sorted_docs, validate
from .oplog import NAMESPACE as OPLOG_NS
from .ordering import identical
from .registry import Call, command
from .updates import apply_modifiers, is_modifier_update, replace
from .wire import CODEC, plain

READ_CONCERNS = ("local", "majority", "available", "linearizable", "snapshot")


def snapshot_time(call: Call) -> Optional[Timestamp]:
    """The cluster time a read sees: a snapshot's ``atClusterTime``, a locked secondary's lock time, or ``None`` (now)."""
    concern = call.command.get("readConcern") or {}
    level = concern.get("level", "local")
    if level not in READ_CONCERNS:
        raise CommandError(9, f"{level} is not a valid read concern level")
    if level != "snapshot":
        return call.member.frozen_at  # a fsync-locked secondary has applied nothing since its lock
    latest = call.store.clock.last
    at = concern.get("atClusterTime")
    if at is None:
        return call.member.frozen_at or latest
    if not isinstance(at, Timestamp):
        raise CommandError(14, "atClusterTime must be a Timestamp")
    if at > latest:
        raise CommandError(
            2, f"readConcern atClusterTime {at} must not be greater than the current clusterTime {latest}"
        )
    return at


def source(store: Store, db: str, name: str, at: Optional[Timestamp] = None) -> List[bytes]:
    """The documents of a namespace in natural order (a view runs its pipeline), as of ``at`` if given."""
    if f"{db}.{name}" == OPLOG_NS:
        entries = store.oplog.all()
        return entries if at is None else [raw for raw in entries if bson.decode(raw)["ts"] <= at]
    coll = store.get(db, name)
    if coll is not None and coll.kind == "view":
        base = [bson.decode(raw, CODEC) for raw in source(store, db, coll.options["viewOn"], at)]
        return [bson.encode(doc) for doc in pipeline.run(base, list(coll.options.get("pipeline", [])))]
    if at is not None and at < store.clock.last:
        return list(store.docs_at(db, name, at).values())
    return list(coll.docs.values()) if coll is not None else []


def _select(raws: List[bytes], query: Dict[str, Any]) -> List[Tuple[Dict[str, Any], bytes]]:
    validate(query)
    pairs = []
    for raw in raws:
        doc = bson.decode(raw, CODEC)
        if matches(doc, query):
            pairs.append((doc, raw))
    return pairs


def _batch_size(value: Any) -> Optional[int]:
    return None if value is None else int(value)


@command("find", kind="read")
def find(call: Call) -> Dict[str, Any]:
    cmd, db, name = call.command, call.db, call.collection_name()
    ns = f"{db}.{name}"
    at = snapshot_time(call)
    query = cmd.get("filter") or {}
    pairs = _select(source(call.store, db, name, at), query)
    sort = cmd.get("sort") or {}
    if "$natural" in sort:
        results = [raw for _unused, raw in (reversed(pairs) if sort["$natural"] == -1 else pairs)]
    else:
        results = sorted_docs(pairs, sort) if sort else [raw for _unused, raw in pairs]
    limit = int(cmd.get("limit", 0) or 0)
    single = bool(cmd.get("singleBatch")) or limit < 0
    results = results[int(cmd.get("skip", 0) or 0) :]
    if limit:
        results = results[: abs(limit)]
    if cmd.get("projection"):
        results = [bson.encode(project(bson.decode(raw, CODEC), cmd["projection"])) for raw in results]
    if cmd.get("tailable"):
        if ns != OPLOG_NS:
            raise CommandError(
                2, f"error processing query: ns={ns} tailable cursor requested on non capped collection"
            )
        cursor: Cursor = TailCursor(
            ns,
            results,
            call.store.oplog.newest(),
            lambda entry: matches(entry, query),
            bool(cmd.get("awaitData")),
        )
    else:
        cursor = Cursor(ns, results)
    reply = call.server.cursors.first_batch(cursor, _batch_size(cmd.get("batchSize")), single)
    if at is not None and (cmd.get("readConcern") or {}).get("level") == "snapshot":
        reply["cursor"]["atClusterTime"] = at
    return reply


@command("getMore")  # kind any: mongod allows getMore on secondaries always (cursor already admitted)
def get_more(call: Call) -> Dict[str, Any]:
    cmd = call.command
    max_time = cmd.get("maxTimeMS")
    return call.server.cursors.get_more(
        call.target,
        call.store,
        _batch_size(cmd.get("batchSize")),
        None if max_time is None else int(max_time),
    )


@command("killCursors")
def kill_cursors(call: Call) -> Dict[str, Any]:
    return call.server.cursors.kill(list(call.command.get("cursors", [])))


@command("count", kind="read")
def count(call: Call) -> Dict[str, Any]:
    cmd = call.command
    at = snapshot_time(call)
    n = len(_select(source(call.store, call.db, call.collection_name(), at), cmd.get("query") or {}))
    n = max(0, n - int(cmd.get("skip", 0) or 0))
    if cmd.get("limit"):
        n = min(n, abs(int(cmd["limit"])))
    return {"n": n, "ok": 1.0}


@command("aggregate", kind="read")
def aggregate(call: Call) -> Dict[str, Any]:
    cmd, db = call.command, call.db
    stages = list(cmd.get("pipeline", []))
    if not isinstance(call.target, str):
        raise CommandError(2, "aggregate: only collection pipelines are supported by this test server")
    name = call.target
    if stages and isinstance(stages[0], dict) and "$collStats" in stages[0]:
        from .cmd_catalog import coll_stats_doc  # noqa: PLC0415 - the catalog commands import this module

        stats = coll_stats_doc(call.store, db, name)
        spec = stages[0]["$collStats"] or {}
        doc: Dict[str, Any] = {"ns": f"{db}.{name}"}
        if "count" in spec:
            doc["count"] = stats["count"]
        if "storageStats" in spec:
            doc["storageStats"] = {k: v for k, v in stats.items() if k not in ("ok", "ns")}
        docs = pipeline.run([doc], stages[1:])
    else:
        raws = source(call.store, db, name, snapshot_time(call))
        docs = pipeline.run([bson.decode(raw, CODEC) for raw in raws], stages)
    cursor = Cursor(f"{db}.{name}", [bson.encode(doc) for doc in docs])
    size = (cmd.get("cursor") or {}).get("batchSize")
    return call.server.cursors.first_batch(cursor, _batch_size(size))


def _writable(call: Call) -> Tuple[str, str]:
    db, name = call.db, call.collection_name()
    if db == "local" and name.startswith("oplog."):
        raise CommandError(20, f"cannot write to '{db}.{name}'")
    coll = call.store.get(db, name)
    if coll is not None and coll.kind == "view":
        raise CommandError(166, f"Namespace {db}.{name} is a view, not a collection")
    return db, name


def _write_reply(n: int, errors: List[Dict[str, Any]], **extra: Any) -> Dict[str, Any]:
    reply: Dict[str, Any] = {"n": n, **extra}
    if errors:
        reply["writeErrors"] = errors
    reply["ok"] = 1.0
    return reply


@command("insert", kind="write")
def insert(call: Call) -> Dict[str, Any]:
    db, name = _writable(call)
    docs = call.documents("documents")
    ordered = call.command.get("ordered", True)
    coll = call.store.ensure(db, name) if docs else None
    n, errors = 0, []
    for index, doc in enumerate(docs):
        try:
            call.store.insert(coll, doc)
            n += 1
        except CommandError as exc:
            errors.append({"index": index, "code": exc.code, "errmsg": exc.errmsg})
            if ordered:
                break
    return _write_reply(n, errors)


def _upsert_base(query: Dict[str, Any]) -> Dict[str, Any]:
    """The equality fields of an upsert's filter: they seed the new document (manual, "upsert")."""
    equal = {
        key: value
        for key, value in query.items()
        if not key.startswith("$")
        and not (isinstance(value, dict) and value and next(iter(value)).startswith("$"))
    }
    return apply_modifiers({}, {"$set": equal}) if equal else {}


@command("update", kind="write")
def update(call: Call) -> Dict[str, Any]:
    db, name = _writable(call)
    store, ordered = call.store, call.command.get("ordered", True)
    matched = modified = 0
    upserted: List[Dict[str, Any]] = []
    errors: List[Dict[str, Any]] = []
    for index, sent in enumerate(call.documents("updates")):
        statement = plain(sent)
        try:
            query, change = statement.get("q") or {}, statement.get("u")
            if not isinstance(change, dict):
                raise CommandError(2, "pipeline-style updates are not supported by this test server")
            if statement.get("arrayFilters"):
                raise CommandError(2, "arrayFilters are not supported by this test server")
            modifier = is_modifier_update(change)
            if statement.get("multi") and not modifier:
                raise CommandError(9, "multi update is not supported for replacement-style update")
            coll = store.get(db, name)
            targets = [doc for doc, _unused in _select(list(coll.docs.values()), query)] if coll else []
            if not statement.get("multi"):
                targets = targets[:1]
            for old in targets:
                matched += 1
                new = apply_modifiers(old, change) if modifier else replace(old, change)
                if identical(old, new):
                    continue
                store.write(coll, new, {"$v": 2, "diff": make_diff(old, new)} if modifier else new)
                modified += 1
            if not targets and statement.get("upsert"):
                base = _upsert_base(query)
                new = apply_modifiers(base, change, inserting=True) if modifier else replace(None, change)
                doc_id = new.get("_id", base.get("_id", ObjectId()))
                new = {"_id": doc_id, **{k: v for k, v in new.items() if k != "_id"}}
                store.insert(store.ensure(db, name), new)
                upserted.append({"index": index, "_id": doc_id})
        except CommandError as exc:
            errors.append({"index": index, "code": exc.code, "errmsg": exc.errmsg})
            if ordered:
                break
    extra: Dict[str, Any] = {"nModified": modified}
    if upserted:
        extra["upserted"] = upserted
    return _write_reply(matched + len(upserted), errors, **extra)


@command("delete", kind="write")
def delete(call: Call) -> Dict[str, Any]:
    db, name = _writable(call)
    store, ordered = call.store, call.command.get("ordered", True)
    n, errors = 0, []
    for index, sent in enumerate(call.documents("deletes")):
        statement = plain(sent)
        try:
            coll = store.get(db, name)
            targets = (
                [doc for doc, _unused in _select(list(coll.docs.values()), statement.get("q") or {})]
                if coll
                else []
            )
            if statement.get("limit", 0):
                targets = targets[:1]
            for doc in targets:
                n += store.delete(coll, doc["_id"])
        except CommandError as exc:
            errors.append({"index": index, "code": exc.code, "errmsg": exc.errmsg})
            if ordered:
                break
    return _write_reply(n, errors)
