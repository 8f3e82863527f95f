"""A writer for point-in-time tests: inserts, updates and deletes on one collection, each logged with the
cluster time the server gave it, so the collection's state at any past time can be computed exactly."""

from __future__ import annotations

import random
import threading
import time
from typing import Any, Dict, List, Optional, Tuple

Entry = Tuple[Tuple[int, int], Any, Optional[Dict[str, Any]]]  # ((secs, inc), _id, document after or None)


class LoggedWriter:
    """Run ``step`` in a thread until stopped; ``log`` holds every write in cluster-time order."""

    def __init__(self, client: Any, db: str = "shop", collection: str = "orders", seed: int = 7,
                 pause: float = 0.003) -> None:  # fmt: skip
        self.collection = client[db][collection]
        self.session = client.start_session()
        self.random = random.Random(seed)
        self.pause = pause
        self.log: List[Entry] = []
        self.docs: Dict[Any, Dict[str, Any]] = {}
        self.next_id = 0
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def _stamp(self) -> Tuple[int, int]:
        ts = self.session.operation_time
        return (ts.time, ts.inc)

    def step(self) -> None:
        """One write: mostly inserts early on, then a mix of updates and deletes."""
        roll = self.random.random()
        if not self.docs or roll < 0.45:
            doc = {"_id": self.next_id, "n": self.next_id, "v": 0, "tag": self.random.choice("abc")}
            self.next_id += 1
            self.collection.insert_one(doc, session=self.session)
            self.docs[doc["_id"]] = dict(doc)
            self.log.append((self._stamp(), doc["_id"], dict(doc)))
        elif roll < 0.85:
            key = self.random.choice(list(self.docs))
            tag = self.random.choice("xyz")
            self.collection.update_one(
                {"_id": key}, {"$inc": {"v": 1}, "$set": {"tag": tag}}, session=self.session
            )
            doc = self.docs[key]
            doc.update(v=doc["v"] + 1, tag=tag)
            self.log.append((self._stamp(), key, dict(doc)))
        else:
            key = self.random.choice(list(self.docs))
            self.collection.delete_one({"_id": key}, session=self.session)
            del self.docs[key]
            self.log.append((self._stamp(), key, None))

    def _run(self) -> None:
        while not self._stop.is_set():
            self.step()
            time.sleep(self.pause)

    def start(self) -> LoggedWriter:
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.session.end_session()


def state_at(log: List[Entry], point: Tuple[int, int]) -> Dict[Any, Dict[str, Any]]:
    """The collection as it was at ``point``: every logged write at or before it, in order."""
    state: Dict[Any, Dict[str, Any]] = {}
    for stamp, key, doc in log:
        if stamp > point:
            break
        if doc is None:
            state.pop(key, None)
        else:
            state[key] = doc
    return state


def last_write_at_or_before(log: List[Entry], point: Tuple[int, int]) -> Optional[Tuple[int, int]]:
    stamps = [stamp for stamp, _unused, _unused in log if stamp <= point]
    return stamps[-1] if stamps else None
