"""The ``mongo_fsync_lock`` task: bring a node to the wanted fsync lock state, with the lease that guards it.

It joins the connection (``mongo_connection``), the lock commands (``fsync_lock``) and the lease
watchdog (``lease``). Every option is checked before the lock is taken; after it, a failure either
releases the lock this task took or leaves a working lease.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Dict, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils import fsync_lock
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.node_info import node_summary
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.lease import (
    Lease,
    cancel_lease,
    lease_path,
    read_lease,
    renew_lease,
    start_watchdog,
    stop_watchdog,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    ConnectionOptions,
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import read_node

WATCHDOG_STARTUP_GRACE = 60.0
MAX_LEASE_SECONDS = 7 * 86400  # a week: no dump holds a lock longer


def run_lock_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """The module result for ``state``, ``nested``, ``lease_seconds`` and ``lease_dir``."""
    return set_lock_state(
        connection_options(params),
        params.get("state") or "locked",
        nested=bool(params.get("nested")),
        lease_seconds=params.get("lease_seconds"),
        lease_dir=params.get("lease_dir"),
        check_mode=check_mode,
    )


def check_lease_options(
    state: str, nested: bool, lease_seconds: Optional[int], lease_dir: Optional[str]
) -> None:
    """Every lock option checked before the node is touched."""
    if lease_seconds is not None and not 0 < lease_seconds <= MAX_LEASE_SECONDS:
        raise OffsiteError(
            f"lease_seconds must be between 1 and {MAX_LEASE_SECONDS} (a week), got {lease_seconds}"
        )
    if state == "unlocked" and (nested or lease_seconds is not None):
        raise OffsiteError("nested and lease_seconds apply to state=locked only: remove them from this task")
    existing = _nearest_existing(lease_dir) if lease_dir else None
    if existing is not None and not os.path.isdir(existing):
        raise OffsiteError(
            f"lease_dir {lease_dir!r} is not a directory ({existing} is a file): give a directory path"
        )
    if lease_dir and os.path.isdir(lease_dir) and not os.access(lease_dir, os.W_OK | os.X_OK):
        raise OffsiteError(f"lease_dir {lease_dir!r} is not writable: give a directory this user can write")


def _nearest_existing(path: str) -> str:
    """``path`` itself or its nearest ancestor that exists."""
    current = os.path.abspath(path)
    while not os.path.lexists(current) and os.path.dirname(current) != current:
        current = os.path.dirname(current)
    return current


def set_lock_state(
    options: ConnectionOptions,
    state: str,
    *,
    nested: bool = False,
    lease_seconds: Optional[int] = None,
    lease_dir: Optional[str] = None,
    check_mode: bool = False,
) -> Dict[str, Any]:
    """Lock or unlock the node; returns the module result (changed, locked, lock_count, …)."""
    check_lease_options(state, nested, lease_seconds, lease_dir)
    path = lease_path(lease_dir, options)
    client = connect(options)
    try:
        with mongo_errors(options, "inspect the node"):
            node = read_node(client)
        fsync_lock.check_lockable(node, options.safe_address())
        if state == "unlocked":
            with mongo_errors(options, "unlock fsync locks"):
                result = _unlock(client, check_mode)
            if not check_mode:
                cancel_lease(path)
        else:
            lease = None
            if lease_seconds is not None and not check_mode:
                # The watchdog forks and connects on its own; no client of ours crosses the fork.
                client.close()
                lease = _prepare_lease(options, path, lease_seconds)
            try:
                if lease is not None:
                    client = connect(options)
                with mongo_errors(options, "take the fsync lock"):
                    result = _lock(client, nested, check_mode, lease_seconds)
                    result["lease_expires_at"] = _iso(
                        _commit_lease(client, path, lease, lease_seconds, result)
                    )
            except BaseException:
                if lease is not None and read_lease(path) != lease:
                    stop_watchdog(lease)  # a new watchdog whose lease was never armed has nothing to guard
                raise
    finally:
        client.close()
    result["node"] = node_summary(node)
    result["lease_file"] = str(path)
    return result


def _unlock(client: Any, check_mode: bool) -> Dict[str, Any]:
    if check_mode:
        locked = fsync_lock.is_locked(client)
        return {
            "changed": locked,
            "locked": False,
            "lock_count": 0,
            "released": None,
            "lease_expires_at": None,
        }
    change = fsync_lock.unlock_all(client)
    return {
        "changed": change.changed,
        "locked": False,
        "lock_count": 0,
        "released": change.released,
        "lease_expires_at": None,
    }


def _lock(client: Any, nested: bool, check_mode: bool, lease_seconds: Optional[int]) -> Dict[str, Any]:
    if check_mode:
        # The exact count can only be read by locking; without touching the node, count what is visible.
        locked = fsync_lock.is_locked(client)
        adds = not locked or nested
        return {
            "changed": adds or lease_seconds is not None,
            "locked": True,
            "lock_count": int(locked) + int(adds),
        }
    change = fsync_lock.ensure_locked(client, nested)
    return {"changed": change.changed, "locked": True, "lock_count": change.lock_count}


def _prepare_lease(options: ConnectionOptions, path: Any, seconds: int) -> Lease:
    """The live lease to renew, or a new watchdog (connected, not yet armed) to arm after locking."""
    existing = read_lease(path)
    if existing is not None and existing.watchdog_alive():
        return existing
    return start_watchdog(
        path,
        seconds,
        connect=lambda: connect(options),
        release=lambda client: fsync_lock.unlock_all(client).released,
        startup_grace=options.connect_timeout + WATCHDOG_STARTUP_GRACE,
    )


def _commit_lease(
    client: Any, path: Any, lease: Optional[Lease], seconds: Optional[int], result: Dict[str, Any]
) -> Optional[float]:
    """Arm or renew the lease; if that fails, release the lock this task took. Returns the expiry."""
    if lease is None:
        current = read_lease(path)
        return current.expires_at if current is not None and current.watchdog_alive() else None
    try:
        armed = renew_lease(path, lease, seconds or 0)
    except BaseException:
        if result["changed"]:
            fsync_lock.unlock_once(client)
        raise
    result["changed"] = True
    return armed.expires_at


def _iso(epoch: Optional[float]) -> Optional[str]:
    if epoch is None:
        return None
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc).isoformat(timespec="seconds")
