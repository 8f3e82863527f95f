"""The shared data set: databases, collections (documents as raw BSON), indexes, and the oplog.

Every write goes through one method here, under one lock, and is recorded in the oplog in that
order with the entry shapes a mongod writes (replica-set-facts.md §3; mongo-tools
``mongorestore/testdata/oplogs/``): ``i`` with ``o`` the document and ``o2`` its ``_id``; ``u``
with ``o2: {_id}``; ``d`` with ``o: {_id}``; ``c`` on ``<db>.$cmd`` for ``create`` (options and
``idIndex``), ``drop`` (``o2: {numRecords}``), ``dropDatabase`` (after one ``drop`` per
collection, as the server logs it), ``createIndexes`` (the spec flattened into ``o``, as a mongod
logs an index built on an empty collection) and ``dropIndexes``. Writes to ``local`` are not
logged, as on MongoDB. Each document change also keeps its before-image (``history``) so that
snapshot reads and fsync-locked secondaries can read the past.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import bson
from bson.binary import Binary, UuidRepresentation
from bson.objectid import ObjectId
from bson.raw_bson import RawBSONDocument
from bson.timestamp import Timestamp

from .clock import ClusterClock
from .errors import CommandError
from .history import History
from .oplog import Oplog
from .ordering import identical
from .wire import CODEC

ID_INDEX = {"v": 2, "key": {"_id": 1}, "name": "_id_"}


def id_key(value: Any) -> bytes:
    """A hashable key for an ``_id``: its BSON bytes, with whole numbers of any type made equal."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
        value = float(value)
    return bson.encode({"": value})


def new_uuid() -> Binary:
    return Binary.from_uuid(uuid.uuid4(), UuidRepresentation.STANDARD)


@dataclass
class Collection:
    db: str
    name: str
    uuid: Binary
    options: Dict[str, Any]
    indexes: List[Dict[str, Any]] = field(default_factory=lambda: [dict(ID_INDEX)])
    docs: Dict[bytes, bytes] = field(default_factory=dict)

    @property
    def ns(self) -> str:
        return f"{self.db}.{self.name}"

    @property
    def kind(self) -> str:
        if "viewOn" in self.options:
            return "view"
        return "timeseries" if "timeseries" in self.options else "collection"

    def decoded(self) -> List[Dict[str, Any]]:
        return [bson.decode(raw, CODEC) for raw in self.docs.values()]


def check_name(db: str, name: Optional[str] = None) -> None:
    if not db or any(char in db for char in '/\\. "$'):
        raise CommandError(73, f"Invalid database name: '{db}'")
    if name is not None and (not name or "$" in name or "\x00" in name):
        raise CommandError(73, f"Invalid collection name: '{name}'")


class Store:
    """All data of the set. Hold ``lock`` (a Condition) around any use; writes notify waiters."""

    def __init__(self, oplog_cap_bytes: int) -> None:
        self.lock = threading.Condition(threading.RLock())
        self.clock = ClusterClock()
        self.oplog = Oplog(self.clock, oplog_cap_bytes)
        self.databases: Dict[str, Dict[str, Collection]] = {}
        self.history = History()

    # -- lookups ---------------------------------------------------------------------------------
    def get(self, db: str, name: str) -> Optional[Collection]:
        return self.databases.get(db, {}).get(name)

    def by_uuid(self, ui: Binary) -> Optional[Collection]:
        for colls in self.databases.values():
            for coll in colls.values():
                if coll.uuid == ui:
                    return coll
        return None

    def require(self, db: str, name: str) -> Collection:
        coll = self.get(db, name)
        if coll is None:
            raise CommandError(26, f"ns does not exist: {db}.{name}")
        return coll

    # -- logging ---------------------------------------------------------------------------------
    def _log(self, op: str, coll: Collection, o: Any, o2: Any = None, command: bool = False) -> Timestamp:
        if coll.db == "local":
            return self.clock.last
        ns = f"{coll.db}.$cmd" if command else coll.ns
        ts = self.oplog.append(op, ns, o, o2, coll.uuid)
        self.lock.notify_all()
        return ts

    def _change(self, coll: Collection, key: bytes, before: Optional[bytes], ts: Timestamp) -> None:
        if coll.db != "local":
            self.history.record(ts, coll.ns, key, before)

    def docs_at(self, db: str, name: str, at: Timestamp) -> Dict[bytes, bytes]:
        """A namespace's documents as of cluster time ``at`` (SnapshotTooOld past the history window)."""
        if at < self.history.floor:
            raise CommandError(239, f"Read timestamp {at} is older than the oldest available timestamp.")
        coll = self.get(db, name)
        return self.history.docs_at(f"{db}.{name}", coll.docs if coll else {}, at)

    # -- collections -----------------------------------------------------------------------------
    def create(self, db: str, name: str, options: Dict[str, Any], ui: Optional[Binary] = None) -> Collection:
        check_name(db, name)
        if self.get(db, name) is not None:
            raise CommandError(48, f"Collection {db}.{name} already exists.")
        coll = Collection(db, name, ui or new_uuid(), dict(options))
        if coll.kind == "view":
            coll.indexes = []
        self.databases.setdefault(db, {})[name] = coll
        entry: Dict[str, Any] = {"create": name, **options}
        if coll.kind != "view":
            entry["idIndex"] = dict(ID_INDEX)
        self._log("c", coll, entry, command=True)
        return coll

    def ensure(self, db: str, name: str) -> Collection:
        """The collection, created implicitly (and logged) on first write, as MongoDB does."""
        return self.get(db, name) or self.create(db, name, {})

    def drop(self, db: str, name: str) -> Collection:
        coll = self.require(db, name)
        del self.databases[db][name]
        if not self.databases[db]:
            del self.databases[db]
        ts = self._log("c", coll, {"drop": name}, {"numRecords": len(coll.docs)}, command=True)
        for key, raw in coll.docs.items():
            self._change(coll, key, raw, ts)
        return coll

    def drop_database(self, db: str) -> None:
        names = list(self.databases.get(db, {}))
        for name in names:
            self.drop(db, name)
        if names and db != "local":
            self.oplog.append("c", f"{db}.$cmd", {"dropDatabase": 1})
            self.lock.notify_all()

    def create_index(self, coll: Collection, spec: Dict[str, Any]) -> bool:
        """Add an index spec; False if one with that name and key exists (code 85 if the key differs)."""
        for existing in coll.indexes:
            if existing["name"] == spec["name"]:
                if identical(existing["key"], spec["key"]):
                    return False
                raise CommandError(
                    85, f"An existing index has the same name as the requested index: {spec['name']}"
                )
        full = {"v": 2, **spec}
        coll.indexes.append(full)
        self._log("c", coll, {"createIndexes": coll.name, **full}, command=True)
        return True

    def drop_index(self, coll: Collection, name: str) -> None:
        for spec in coll.indexes:
            if spec["name"] == name and name != "_id_":
                coll.indexes.remove(spec)
                self._log("c", coll, {"dropIndexes": coll.name, "index": name}, spec, command=True)
                return
        raise CommandError(27, f"index not found with name [{name}]")

    # -- documents -------------------------------------------------------------------------------
    def insert(self, coll: Collection, doc: Any) -> Any:
        """Insert a document (raw or decoded; an ObjectId ``_id`` is added first if missing)."""
        raw = doc.raw if isinstance(doc, RawBSONDocument) else None
        decoded = bson.decode(raw, CODEC) if raw is not None else dict(doc)
        if "_id" not in decoded:
            decoded = {"_id": ObjectId(), **decoded}
            raw = None
        key = id_key(decoded["_id"])
        if key in coll.docs:
            raise CommandError(
                11000,
                f"E11000 duplicate key error collection: {coll.ns} index: _id_ dup key: {{ _id: {decoded['_id']!r} }}",
            )
        raw = raw if raw is not None else bson.encode(decoded)
        coll.docs[key] = raw
        self._change(coll, key, None, self._log("i", coll, RawBSONDocument(raw), {"_id": decoded["_id"]}))
        return decoded["_id"]

    def write(self, coll: Collection, new: Dict[str, Any], o: Any) -> None:
        """Store ``new`` in place of the document with its ``_id``; log ``o`` (a diff or the document)."""
        key = id_key(new["_id"])
        before = coll.docs.get(key)
        coll.docs[key] = bson.encode(new)
        self._change(coll, key, before, self._log("u", coll, o, {"_id": new["_id"]}))

    def delete(self, coll: Collection, doc_id: Any) -> bool:
        key = id_key(doc_id)
        before = coll.docs.pop(key, None)
        if before is None:
            return False
        self._change(coll, key, before, self._log("d", coll, {"_id": doc_id}))
        return True

    def noop(self, message: str) -> None:
        self.oplog.append("n", "", {"msg": message})
        self.lock.notify_all()
