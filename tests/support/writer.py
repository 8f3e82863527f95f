"""A writer thread that keeps inserting, updating and deleting while a backup runs, and logs each write's time.

Each write goes through one session, so ``session.operation_time`` after the reply is the cluster time
of that write (its oplog entry's ``ts``). The writer keeps a model of every document it touched, so
``state_at(ts)`` is the exact content the collections had at cluster time ``ts``: the seed documents
with every logged write up to ``ts`` applied, in order.
"""

from __future__ import annotations

import copy
import threading
import time
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from bson.timestamp import Timestamp
from pymongo import MongoClient


@dataclass(frozen=True)
class Write:
    """One logged write: when (cluster time), what, and the document after it (None once deleted)."""

    time: Timestamp
    op: str
    collection: str
    doc_id: int
    after: Optional[Dict[str, Any]]


def ts_key(ts: Any) -> Tuple[int, int]:
    """A Timestamp or a ``{t, i}`` record as a sortable pair."""
    if isinstance(ts, Timestamp):
        return ts.time, ts.inc
    return int(ts["t"]), int(ts["i"])


class Writer(threading.Thread):
    """Round-robin insert, update, delete over ``collections`` of ``database``, until ``stop()``."""

    def __init__(
        self, uri: str, database: str, collections: List[str], seed: int, pause: float = 0.0
    ) -> None:
        super().__init__(name=f"writer-{database}", daemon=True)
        self.uri = uri
        self.database = database
        self.collections = collections
        self.pause = pause
        self.initial: Dict[str, Dict[int, Dict[str, Any]]] = {
            name: {i: {"_id": i, "name": f"{name}-{i}", "v": 0, "n": 0} for i in range(seed)}
            for name in collections
        }
        self.log: List[Write] = []
        self.error: Optional[BaseException] = None
        self._stop_event = threading.Event()
        self._live = copy.deepcopy(self.initial)
        self._next_id = seed

    def seed(self) -> Timestamp:
        """Insert the seed documents; returns the cluster time after them."""
        with MongoClient(self.uri) as client, client.start_session() as session:
            for name, docs in self.initial.items():
                client[self.database][name].insert_many(list(docs.values()), session=session)
            return session.operation_time

    def run(self) -> None:
        try:
            with MongoClient(self.uri) as client, client.start_session() as session:
                db = client[self.database]
                step = 0
                while not self._stop_event.is_set():
                    self._one_write(db, session, step)
                    step += 1
                    if self.pause:
                        time.sleep(self.pause)
        except BaseException as exc:  # reported by stop()
            self.error = exc

    def _one_write(self, db: Any, session: Any, step: int) -> None:
        name = self.collections[step % len(self.collections)]
        docs = self._live[name]
        kind = ("insert", "update", "update", "delete")[step % 4]
        if kind == "insert" or not docs:
            doc = {"_id": self._next_id, "name": f"{name}-{self._next_id}", "v": step, "n": 0}
            self._next_id += 1
            db[name].insert_one(doc, session=session)
            docs[doc["_id"]] = doc
            self._record(session, "insert", name, doc["_id"], doc)
        elif kind == "update":
            doc_id = sorted(docs)[step * 7919 % len(docs)]
            db[name].update_one({"_id": doc_id}, {"$set": {"v": step}, "$inc": {"n": 1}}, session=session)
            docs[doc_id] = {**docs[doc_id], "v": step, "n": docs[doc_id]["n"] + 1}
            self._record(session, "update", name, doc_id, docs[doc_id])
        else:
            doc_id = sorted(docs)[step * 104729 % len(docs)]
            db[name].delete_one({"_id": doc_id}, session=session)
            del docs[doc_id]
            self._record(session, "delete", name, doc_id, None)

    def _record(self, session: Any, op: str, name: str, doc_id: int, after: Optional[Dict[str, Any]]) -> None:
        self.log.append(Write(session.operation_time, op, name, doc_id, dict(after) if after else None))

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=30)
        if self.error is not None:
            raise self.error

    def writes_between(self, first: Any, last: Any) -> List[Write]:
        """Logged writes with ``first < time <= last``."""
        return [w for w in self.log if ts_key(first) < ts_key(w.time) <= ts_key(last)]

    def state_at(self, ts: Any) -> Dict[str, Dict[int, Dict[str, Any]]]:
        """Every collection's documents at cluster time ``ts`` (seed plus the writes up to it)."""
        state = copy.deepcopy(self.initial)
        for write in self.log:
            if ts_key(write.time) > ts_key(ts):
                break
            if write.after is None:
                state[write.collection].pop(write.doc_id, None)
            else:
                state[write.collection][write.doc_id] = dict(write.after)
        return state


def read_state(
    client: MongoClient, database: str, collections: List[str]
) -> Dict[str, Dict[int, Dict[str, Any]]]:
    """What the server holds, in the same shape as ``Writer.state_at``."""
    return {name: {doc["_id"]: doc for doc in client[database][name].find()} for name in collections}
