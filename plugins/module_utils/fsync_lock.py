"""fsync lock, unlock and status, with MongoDB's nested lock count.

MongoDB counts fsync locks: every ``fsync`` with ``lock: true`` adds one and every ``fsyncUnlock``
removes one; writes resume only at zero. Both commands report the new ``lockCount``, which is how
this module reads the count exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import NodeInfo

MONGOS_MIN_VERSION = (7, 0, 2)
ILLEGAL_OPERATION = 20  # fsyncUnlock on a server that holds no fsync lock


@dataclass(frozen=True)
class LockChange:
    """The outcome of ``ensure_locked`` / ``unlock_all``."""

    changed: bool
    lock_count: int
    released: int = 0


def check_lockable(node: NodeInfo, where: str) -> None:
    """Refuse nodes that cannot take an fsync lock, with the fix in the message."""
    if node.kind == "arbiter":
        raise OffsiteError(
            f"{where} is an arbiter: it holds no data to lock; point login_host at a data-bearing member "
            "(a secondary is best)"
        )
    if node.kind == "mongos" and node.version < MONGOS_MIN_VERSION:
        raise OffsiteError(
            f"{where} is a mongos running MongoDB {node.version_string}: fsync lock through mongos needs "
            "7.0.2 or newer; lock a secondary of each shard and of the config server replica set instead"
        )


def is_locked(client: Any) -> bool:
    """Whether the node holds an fsync lock (read from ``currentOp``; touches nothing)."""
    return bool(client.admin.command("currentOp").get("fsyncLock", False))


def lock_once(client: Any) -> int:
    """Flush and add one fsync lock; returns the new lock count."""
    return _lock_count(client.admin.command("fsync", 1, lock=True), "fsync")


def unlock_once(client: Any) -> Tuple[bool, int]:
    """Remove one fsync lock: (released, remaining count). Not locked -> (False, 0)."""
    try:
        reply = client.admin.command("fsyncUnlock")
    except Exception as exc:
        if getattr(exc, "code", None) == ILLEGAL_OPERATION:
            return False, 0
        raise
    return True, _lock_count(reply, "fsyncUnlock")


def ensure_locked(client: Any, nested: bool = False) -> LockChange:
    """Lock the node. An already locked node is left as it is unless ``nested`` asks for one more lock.

    The count is read by locking: when that shows the node was locked already and no nested lock was
    asked for, the probe lock is released at once.
    """
    count = lock_once(client)
    if count == 1 or nested:
        return LockChange(changed=True, lock_count=count)
    released, remaining = unlock_once(client)
    if not released:
        raise OffsiteError("the fsync lock disappeared while its count was read: run the task again")
    return LockChange(changed=False, lock_count=remaining)


def unlock_all(client: Any, limit: int = 10000) -> LockChange:
    """Release fsync locks until the count is zero; reports how many were released."""
    released = 0
    while released < limit:
        did_release, remaining = unlock_once(client)
        if not did_release:
            break
        released += 1
        if remaining == 0:
            break
    else:
        raise OffsiteError(
            f"released {limit} fsync locks and the server still reports more: check who locks it"
        )
    return LockChange(changed=released > 0, lock_count=0, released=released)


def _lock_count(reply: Mapping[str, Any], command: str) -> int:
    if "lockCount" not in reply:
        raise OffsiteError(
            f"the server answered {command} without a lockCount, so it does not really support fsync locking "
            "(a MongoDB stand-in?): use a real mongod or mongos 7.0.2+"
        )
    return int(reply["lockCount"])
