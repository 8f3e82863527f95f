"""``applyOps``: what an oplog replay sends (mongo-tools ``mongorestore/oplog.go``; this
collection's ``restore.apply_oplog``), applied the way a mongod applies oplog entries.

Per op (replica-set-facts.md §3-4): ``i`` inserts or, if the ``_id`` exists, replaces (an insert
replayed twice upserts); ``u`` finds the document by ``o2`` and applies ``o`` — a v2 ``diff``,
``$set``/``$unset`` (v1), or a replacement (which upserts when the document is missing; a
modifier update of a missing document is a no-op); ``d`` deletes by ``_id`` and a missing
document is fine; ``n`` does nothing; ``c`` runs ``create`` (an existing collection is fine; a
``ui`` is kept, as with ``--preserveUUID``), ``drop`` (a missing one is fine), ``dropDatabase``,
``createIndexes``, ``commitIndexBuild``, ``dropIndexes``, ``collMod`` and nested ``applyOps``;
``startIndexBuild``/``abortIndexBuild`` are skipped as mongorestore skips them. Transaction
entries (``partialTxn``, ``prepare``, ``commitTransaction``) are refused: a replay must assemble
them first, as mongorestore does. ``ts``, ``t``,
``h``, ``v``, ``wall`` of the ops are ignored: each applied op is logged anew at the next cluster
time. A write to a missing collection fails with NamespaceNotFound (26), as on MongoDB; so does
one whose ``ui`` names no collection here (a mongod looks the collection up by that UUID, which is
why mongorestore strips ``ui`` unless ``--preserveUUID``: replica-set-facts.md §4). The reply
is ``{applied, results}``; on a failure also ``code``/``errmsg`` with ``ok: 0``.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict

import bson

from .catalog import Collection, Store, id_key
from .diff import apply_diff, make_diff
from .errors import CommandError
from .matcher import matches
from .registry import Call, command
from .updates import apply_modifiers, is_modifier_update, replace
from .wire import CODEC, plain


def _collection(store: Store, ns: str, ui: Any = None) -> Collection:
    if ui is not None:  # a mongod finds the collection by its UUID when the op names one
        coll = store.by_uuid(ui)
        if coll is None:
            raise CommandError(
                26, f"Failed to apply operation due to missing collection ({ui.as_uuid()}): {ns}"
            )
        return coll
    db, _unused, name = ns.partition(".")
    coll = store.get(db, name)
    if coll is None:
        raise CommandError(26, f"Failed to apply operation due to missing collection: {ns}")
    return coll


def _find(coll: Collection, query: Dict[str, Any]) -> Any:
    if list(query) == ["_id"]:
        raw = coll.docs.get(id_key(query["_id"]))
        return bson.decode(raw, CODEC) if raw else None
    return next((doc for doc in coll.decoded() if matches(doc, query)), None)


def _update(store: Store, coll: Collection, o: Dict[str, Any], o2: Dict[str, Any]) -> None:
    old = _find(coll, o2)
    if o.get("$v") == 2 and "diff" in o:
        if old is not None:
            new = copy.deepcopy(old)
            apply_diff(new, o["diff"])
            store.write(coll, new, o)
    elif is_modifier_update(o):
        if old is not None:
            new = apply_modifiers(old, o)
            store.write(coll, new, {"$v": 2, "diff": make_diff(old, new)})
    elif old is not None:
        new = replace(old, o)
        store.write(coll, new, new)
    else:
        store.insert(coll, {"_id": o2.get("_id"), **{k: v for k, v in o.items() if k != "_id"}})


def _create(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    if store.get(db, o["create"]) is None:
        store.create(db, o["create"], {k: v for k, v in o.items() if k not in ("create", "idIndex")}, ui=ui)


def _drop(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    if store.get(db, o["drop"]) is not None:
        store.drop(db, o["drop"])


def _drop_database(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    store.drop_database(db)


def _create_indexes(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    name = next(iter(o))
    coll = _collection(store, f"{db}.{o[name]}")
    specs = o.get("indexes") if name == "commitIndexBuild" else [{k: v for k, v in o.items() if k != name}]
    for spec in specs or []:
        store.create_index(coll, dict(spec))


def _drop_indexes(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    coll = _collection(store, f"{db}.{o[next(iter(o))]}")
    if any(spec["name"] == o.get("index") for spec in coll.indexes):
        store.drop_index(coll, o["index"])


def _coll_mod(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    coll = _collection(store, f"{db}.{o['collMod']}")
    coll.options.update({k: v for k, v in o.items() if k not in ("collMod", "index")})


def _nested(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    if o.get("partialTxn") or o.get("prepare"):
        raise CommandError(
            2,
            "applyOps: a partial or prepared transaction entry is not applied by this test server: "
            "assemble the transaction first, as mongorestore does (mongo-tools common/txn/buffer.go)",
        )
    for op in o["applyOps"]:
        apply_op(store, plain(op))


def _skip(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    return None


COMMANDS: Dict[str, Callable[[Store, str, Dict[str, Any], Any], None]] = {
    "create": _create,
    "drop": _drop,
    "dropDatabase": _drop_database,
    "createIndexes": _create_indexes,
    "commitIndexBuild": _create_indexes,
    "dropIndexes": _drop_indexes,
    "deleteIndexes": _drop_indexes,
    "collMod": _coll_mod,
    "applyOps": _nested,
    "startIndexBuild": _skip,
    "abortIndexBuild": _skip,
}


def _command(store: Store, db: str, o: Dict[str, Any], ui: Any) -> None:
    name = next(iter(o), "")
    handler = COMMANDS.get(name)
    if handler is None:
        raise CommandError(2, f"applyOps: command {name!r} is not supported by this test server")
    handler(store, db, o, ui)


def apply_op(store: Store, op: Dict[str, Any]) -> None:
    kind, ns, o = op.get("op"), str(op.get("ns", "")), op.get("o")
    if kind == "n":
        return
    if not isinstance(o, dict):
        raise CommandError(2, f"applyOps: op {kind!r} on {ns} needs a document in 'o'")
    if kind == "c":
        _command(store, ns.partition(".")[0], o, op.get("ui"))
        return
    coll = _collection(store, ns, op.get("ui"))
    if kind == "i":
        old = coll.docs.get(id_key(o.get("_id")))
        if old is None:
            store.insert(coll, o)
        else:
            store.write(coll, replace(bson.decode(old, CODEC), o), o)
    elif kind == "u":
        o2 = op.get("o2")
        if not isinstance(o2, dict):
            raise CommandError(2, f"applyOps: update on {ns} needs 'o2' with the _id")
        _update(store, coll, o, o2)
    elif kind == "d":
        store.delete(coll, o.get("_id"))
    else:
        raise CommandError(2, f"applyOps: unknown op type {kind!r}")


@command("applyOps", kind="write")
def apply_ops(call: Call) -> Dict[str, Any]:
    ops = call.command.get("applyOps")
    if not isinstance(ops, list):
        raise CommandError(14, "applyOps must be an array")
    results = []
    for op in ops:
        try:
            apply_op(call.store, plain(op))
        except CommandError as exc:
            reply = exc.reply()
            reply.update(applied=len(results) + 1, results=[*results, False])
            return reply
        results.append(True)
    return {"applied": len(results), "results": results, "ok": 1.0}
