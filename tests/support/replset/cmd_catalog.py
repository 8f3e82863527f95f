"""Catalog commands: listDatabases, listCollections, listIndexes, create, drop, dropDatabase,
createIndexes, dropIndexes, dbStats, collStats.

Reply shapes from the manual's page for each command. ``listCollections`` gives ``name, type,
options, info: {readOnly, uuid}, idIndex`` (what mongodump copies into ``metadata.json``: mongo-tools
``mongodump/metadata_dump.go``); ``local.oplog.rs`` is listed as a capped collection with the
configured size. ``drop`` of a missing collection is NamespaceNotFound (26, "ns not found"),
which the drivers and tools treat as done (replica-set-facts.md §7).
"""

from __future__ import annotations

from typing import Any, Dict, List

import bson
from bson.int64 import Int64

from .catalog import ID_INDEX, Collection, Store, check_name
from .cursors import Cursor
from .errors import CommandError
from .matcher import matches
from .oplog import NAMESPACE as OPLOG_NS
from .registry import Call, command

# Fields of a command that are not options of what it creates (generic arguments, manual "Command Reference").
GENERIC = {
    "writeConcern", "lsid", "txnNumber", "$db", "$clusterTime", "$readPreference", "comment", "maxTimeMS",
    "apiVersion", "apiStrict", "apiDeprecationErrors", "readConcern", "autocommit", "startTransaction",
}  # fmt: skip


def _cursor(call: Call, ns: str, docs: List[Dict[str, Any]]) -> Dict[str, Any]:
    size = (call.command.get("cursor") or {}).get("batchSize")
    cursor = Cursor(ns, [bson.encode(doc) for doc in docs])
    return call.server.cursors.first_batch(cursor, None if size is None else int(size))


def _size(coll: Collection) -> int:
    return sum(len(raw) for raw in coll.docs.values())


def _databases(store: Store) -> Dict[str, int]:
    sizes = {db: sum(_size(c) for c in colls.values()) for db, colls in store.databases.items()}
    sizes["local"] = sizes.get("local", 0) + store.oplog.size
    return dict(sorted(sizes.items()))


@command("listDatabases", kind="read")
def list_databases(call: Call) -> Dict[str, Any]:
    infos = [
        {"name": db, "sizeOnDisk": Int64(size), "empty": size == 0}
        for db, size in _databases(call.store).items()
    ]
    infos = [info for info in infos if matches(info, call.command.get("filter") or {})]
    if call.command.get("nameOnly"):
        return {"databases": [{"name": info["name"]} for info in infos], "ok": 1.0}
    total = sum(int(info["sizeOnDisk"]) for info in infos)
    return {"databases": infos, "totalSize": Int64(total), "totalSizeMb": Int64(total >> 20), "ok": 1.0}


def collection_info(coll: Collection) -> Dict[str, Any]:
    info: Dict[str, Any] = {"name": coll.name, "type": coll.kind, "options": dict(coll.options)}
    if coll.kind == "view":
        info["info"] = {"readOnly": True}
    else:
        info["info"] = {"readOnly": False, "uuid": coll.uuid}
        info["idIndex"] = dict(ID_INDEX)
    return info


@command("listCollections", kind="read")
def list_collections(call: Call) -> Dict[str, Any]:
    store, db = call.store, call.db
    infos = [collection_info(coll) for coll in store.databases.get(db, {}).values()]
    if db == "local":
        options = {"capped": True, "size": store.oplog.cap_bytes}
        infos.append(
            {
                "name": "oplog.rs",
                "type": "collection",
                "options": options,
                "info": {"readOnly": False, "uuid": store.oplog.uuid},
            }
        )
    infos = [info for info in infos if matches(info, call.command.get("filter") or {})]
    if call.command.get("nameOnly"):
        infos = [{"name": info["name"], "type": info["type"]} for info in infos]
    return _cursor(call, f"{db}.$cmd.listCollections", infos)


@command("listIndexes", kind="read")
def list_indexes(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    if f"{call.db}.{name}" == OPLOG_NS:
        return _cursor(call, f"{call.db}.$cmd.listIndexes.{name}", [])
    coll = call.store.require(call.db, name)
    return _cursor(call, f"{call.db}.$cmd.listIndexes.{name}", [dict(spec) for spec in coll.indexes])


@command("create", kind="write")
def create(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    if f"{call.db}.{name}" == OPLOG_NS:
        raise CommandError(48, f"Collection {OPLOG_NS} already exists.")
    options = {k: v for k, v in call.command.items() if k != "create" and k not in GENERIC}
    if "viewOn" in options and call.store.get(call.db, name) is None:
        options.setdefault("pipeline", [])
    call.store.create(call.db, name, options)
    return {"ok": 1.0}


@command("drop", kind="write")
def drop(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    if call.store.get(call.db, name) is None:
        raise CommandError(26, "ns not found")
    coll = call.store.drop(call.db, name)
    return {"nIndexesWas": len(coll.indexes), "ns": coll.ns, "ok": 1.0}


@command("dropDatabase", kind="write")
def drop_database(call: Call) -> Dict[str, Any]:
    check_name(call.db)
    call.store.drop_database(call.db)
    return {"dropped": call.db, "ok": 1.0}


def _index_spec(spec: Any) -> Dict[str, Any]:
    if not isinstance(spec, dict) or not isinstance(spec.get("key"), dict) or not spec["key"]:
        raise CommandError(9, "The 'key' field is a required property of an index specification")
    if not isinstance(spec.get("name"), str) or not spec["name"]:
        raise CommandError(9, "The 'name' field is a required property of an index specification")
    return dict(spec)


@command("createIndexes", kind="write")
def create_indexes(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    specs = [_index_spec(spec) for spec in call.command.get("indexes", [])]
    if not specs:
        raise CommandError(2, "Must specify at least one index to create")
    created_collection = call.store.get(call.db, name) is None
    coll = call.store.ensure(call.db, name)
    before = len(coll.indexes)
    added = [call.store.create_index(coll, spec) for spec in specs]
    reply: Dict[str, Any] = {
        "numIndexesBefore": before,
        "numIndexesAfter": len(coll.indexes),
        "createdCollectionAutomatically": created_collection,
    }
    if not any(added):
        reply["note"] = "all indexes already exist"
    reply["ok"] = 1.0
    return reply


@command("dropIndexes", "deleteIndexes", kind="write")
def drop_indexes(call: Call) -> Dict[str, Any]:
    coll = call.store.require(call.db, call.collection_name())
    before = len(coll.indexes)
    wanted = call.command.get("index")
    if wanted == "*":
        names = [spec["name"] for spec in coll.indexes if spec["name"] != "_id_"]
    elif isinstance(wanted, dict):
        names = [spec["name"] for spec in coll.indexes if spec["key"] == wanted]
        if not names:
            raise CommandError(27, f"can't find index with key: {wanted}")
    else:
        names = wanted if isinstance(wanted, list) else [wanted]
    for index_name in names:
        if index_name == "_id_":
            raise CommandError(72, "cannot drop _id index")
        call.store.drop_index(coll, index_name)
    return {"nIndexesWas": before, "ok": 1.0}


def coll_stats_doc(store: Store, db: str, name: str) -> Dict[str, Any]:
    if f"{db}.{name}" == OPLOG_NS:
        size, count, indexes = store.oplog.size, len(store.oplog.entries), []
        capped = {"capped": True, "maxSize": Int64(store.oplog.cap_bytes)}
    else:
        coll = store.get(db, name)
        if coll is None:
            raise CommandError(26, f"Collection [{db}.{name}] not found.")
        size, count, indexes, capped = (
            _size(coll),
            len(coll.docs),
            coll.indexes,
            {"capped": bool(coll.options.get("capped"))},
        )
    return {
        "ns": f"{db}.{name}",
        "size": size,
        "count": count,
        "avgObjSize": size // count if count else 0,
        "storageSize": size,
        "nindexes": len(indexes),
        "totalIndexSize": 0,
        "indexSizes": {spec["name"]: 0 for spec in indexes},
        **capped,
        "ok": 1.0,
    }


@command("collStats", kind="read")
def coll_stats(call: Call) -> Dict[str, Any]:
    return coll_stats_doc(call.store, call.db, call.collection_name())


@command("dbStats", kind="read")
def db_stats(call: Call) -> Dict[str, Any]:
    colls = list(call.store.databases.get(call.db, {}).values())
    data = [c for c in colls if c.kind != "view"]
    objects = sum(len(c.docs) for c in data)
    size = sum(_size(c) for c in data)
    return {
        "db": call.db,
        "collections": len(data),
        "views": len(colls) - len(data),
        "objects": objects,
        "avgObjSize": size / objects if objects else 0,
        "dataSize": float(size),
        "storageSize": float(size),
        "indexes": sum(len(c.indexes) for c in data),
        "indexSize": 0.0,
        "totalSize": float(size),
        "scaleFactor": 1,
        "fsUsedSize": 0.0,
        "fsTotalSize": 0.0,
        "ok": 1.0,
    }
