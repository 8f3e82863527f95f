"""Node-level commands: hello/isMaster, ping, buildInfo, getParameter, replSetGetStatus,
serverStatus, sessions, and the fsync lock.

Reply shapes: the manual's pages for each command. fsync (manual "fsync", "fsyncUnlock",
"currentOp"; server ``src/mongo/db/commands/fsync.cpp``; replica-set-facts.md §5): ``{fsync: 1,
lock: true}`` on admin counts up and answers ``lockCount`` (NumberLong); ``fsyncUnlock`` counts
down, or fails with IllegalOperation (20) at zero; ``currentOp`` shows ``fsyncLock: true`` while
locked; writes wait (``server.Server._run``) until the count is back to zero, reads go on. The
count is per member, as on MongoDB: a locked secondary stops applying the oplog, so its reads
(documents and oplog, not the catalog) are served as of the cluster time of its first lock
(``history``) while the primary keeps taking writes.
"""

from __future__ import annotations

import datetime
import os
from typing import Any, Dict

from bson.int64 import Int64
from bson.timestamp import Timestamp

from .catalog import new_uuid
from .clock import TERM
from .errors import CommandError
from .registry import Call, command
from .topology import Member
from .users import find_user

STARTED = datetime.datetime.now(datetime.timezone.utc)


def applied(call: Call, member: Member) -> Timestamp:
    """The newest write a member has applied: all of them, unless an fsync lock froze it."""
    return member.frozen_at or call.store.clock.last


def _date(ts: Timestamp) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts.time, datetime.timezone.utc)


@command("hello", "isMaster", "ismaster", auth=False, locked=False)
def hello(call: Call) -> Dict[str, Any]:
    """Awaitable hello (streaming monitors): held up to ``maxAwaitTimeMS`` while nothing changes."""
    cmd, member = call.command, call.member
    awaited, wait_ms = cmd.get("topologyVersion"), cmd.get("maxAwaitTimeMS")
    if isinstance(awaited, dict) and wait_ms is not None and awaited.get("processId") == member.process_id:
        member.stopping.wait(min(float(wait_ms), 60_000) / 1000)
    with call.store.lock:
        last = {"ts": applied(call, member), "t": TERM}
        date = _date(last["ts"])
        last_write = {
            "opTime": last,
            "lastWriteDate": date,
            "majorityOpTime": last,
            "majorityWriteDate": date,
        }
        reply = call.server.config.hello(member, legacy=call.name != "hello", last_write=last_write)
        if cmd.get("helloOk"):
            reply["helloOk"] = True
        mechanisms = _sasl_mechanisms(call, cmd.get("saslSupportedMechs"))
        if mechanisms is not None:
            reply["saslSupportedMechs"] = mechanisms
    reply["connectionId"] = call.connection.connection_id
    reply["ok"] = 1.0
    return reply


def _sasl_mechanisms(call: Call, name: Any) -> Any:
    if not isinstance(name, str) or "." not in name or not call.member.data_bearing:
        return None
    db, _unused, user = name.partition(".")
    doc = find_user(call.store, db, user)
    return None if doc is None else [m for m in doc.get("credentials", {}) if m == "SCRAM-SHA-256"]


@command("ping", auth=False, locked=False)
def ping(call: Call) -> Dict[str, Any]:
    return {"ok": 1.0}


@command("buildInfo", "buildinfo", auth=False, locked=False)
def build_info(call: Call) -> Dict[str, Any]:
    version = call.server.config.version
    parts = [int(part) for part in version.split(".")]
    return {
        "version": version,
        "gitVersion": "0" * 40,
        "versionArray": [*[*parts, 0, 0, 0][:3], 0],
        "bits": 64,
        "maxBsonObjectSize": 16 * 1024 * 1024,
        "storageEngines": ["wiredTiger"],
        "modules": [],
        "ok": 1.0,
    }


@command("getParameter")
def get_parameter(call: Call) -> Dict[str, Any]:
    """``authSchemaVersion`` is 5 on MongoDB 3.0+ (mongo-tools ``mongorestore/metadata.go`` reads it)."""
    version = call.server.config.version
    known = {
        "authSchemaVersion": 5,
        "featureCompatibilityVersion": {"version": ".".join(version.split(".")[:2])},
    }
    wanted = known if call.target == "*" else {k: v for k, v in known.items() if k in call.command}
    if not wanted:
        raise CommandError(72, "no option found to get")
    return {**wanted, "ok": 1.0}


@command("replSetGetStatus")
def repl_set_get_status(call: Call) -> Dict[str, Any]:
    config = call.server.config
    members = []
    for m in config.members:
        state, state_str = m.state if m.up else (8, "(not reachable/healthy)")
        entry: Dict[str, Any] = {"_id": m.member_id, "name": m.host, "health": 1.0 if m.up else 0.0}
        entry.update(state=state, stateStr=state_str)
        if m.data_bearing:
            entry.update(optime={"ts": applied(call, m), "t": TERM}, optimeDate=_date(applied(call, m)))
        if m is call.member:
            entry["self"] = True
        members.append(entry)
    return {
        "set": config.set_name,
        "date": datetime.datetime.now(datetime.timezone.utc),
        "myState": call.member.state[0],
        "term": TERM,
        "members": members,
        "ok": 1.0,
    }


@command("serverStatus")
def server_status(call: Call) -> Dict[str, Any]:
    member = call.member
    return {
        "host": member.host,
        "version": call.server.config.version,
        "process": "mongod",
        "pid": Int64(os.getpid()),
        "uptime": (datetime.datetime.now(datetime.timezone.utc) - STARTED).total_seconds(),
        "localTime": datetime.datetime.now(datetime.timezone.utc),
        "repl": {
            "setName": call.server.config.set_name,
            "me": member.host,
            "isWritablePrimary": member.role == "primary",
        },
        "ok": 1.0,
    }


@command("endSessions", "killSessions", auth=False, locked=False)
def end_sessions(call: Call) -> Dict[str, Any]:
    return {"ok": 1.0}


@command("startSession")
def start_session(call: Call) -> Dict[str, Any]:
    return {"id": {"id": new_uuid()}, "timeoutMinutes": 30, "ok": 1.0}


@command("fsync")
def fsync(call: Call) -> Dict[str, Any]:
    if call.db != "admin":
        raise CommandError(13, "fsync may only be run against the admin database.")
    if not call.command.get("lock"):
        return {"numFiles": 1, "ok": 1.0}
    member = call.member
    member.fsync_count += 1
    if member.role != "primary" and member.frozen_at is None:
        member.frozen_at = call.store.clock.last
    return {
        "info": "now locked against writes, use db.fsyncUnlock() to unlock",
        "lockCount": Int64(member.fsync_count),
        "seeAlso": "http://dochub.mongodb.org/core/fsynccommand",
        "ok": 1.0,
    }


@command("fsyncUnlock")
def fsync_unlock(call: Call) -> Dict[str, Any]:
    member = call.member
    if member.fsync_count == 0:
        raise CommandError(20, "fsyncUnlock called when not locked")
    member.fsync_count -= 1
    if member.fsync_count == 0:
        member.frozen_at = None
    call.store.lock.notify_all()
    return {"info": "fsyncUnlock completed", "lockCount": Int64(member.fsync_count), "ok": 1.0}


@command("currentOp")
def current_op(call: Call) -> Dict[str, Any]:
    reply: Dict[str, Any] = {"inprog": []}
    if call.member.fsync_count:
        reply["fsyncLock"] = True
        reply["info"] = "use db.fsyncUnlock() to terminate the fsync write/snapshot lock"
    reply["ok"] = 1.0
    return reply
