"""The members of the set and what each one answers to ``hello`` / ``isMaster``.

Fields and their BSON types from the manual ("hello" command, replica-set fields) and from what
the drivers check (replica-set-facts.md §1: Go driver ``description/server.go``, pymongo
``hello.py``): ``hosts`` lists the primary and the electable secondaries, ``passives`` the
priority-0 ones, ``arbiters`` the arbiters; hidden members are in no list but still answer with
``hidden: true`` (and ``passive: true``) themselves. ``topologyVersion`` is ``{processId:
ObjectId, counter: NumberLong}``; a restarted member gets a new processId, as a restarted mongod.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from bson.int64 import Int64
from bson.objectid import ObjectId
from bson.timestamp import Timestamp

ROLES = ("primary", "secondary", "passive", "hidden", "arbiter")
WIRE_VERSIONS = {(5, 0): 13, (6, 0): 17, (7, 0): 21, (8, 0): 25}  # DRIVERS-2595; replica-set-facts.md §1
ELECTION_ID = ObjectId("7fffffff0000000000000001")
STATES = {"primary": (1, "PRIMARY"), "arbiter": (7, "ARBITER")}


def wire_version(version: str) -> int:
    major, minor = (int(part) for part in version.split(".")[:2])
    if (major, minor) not in WIRE_VERSIONS:
        known = ", ".join(f"{a}.{b}" for a, b in WIRE_VERSIONS)
        raise ValueError(f"version {version}: claim one of {known} (x.y.z)")
    return WIRE_VERSIONS[(major, minor)]


@dataclass
class Member:
    name: str  # the label tests use ("primary", "hidden", ...)
    role: str
    port: int
    member_id: int
    up: bool = False
    process_id: ObjectId = field(default_factory=ObjectId)
    stopping: threading.Event = field(default_factory=threading.Event)  # wakes awaited hellos
    fsync_count: int = 0  # this member's fsync lock count
    frozen_at: Optional[Timestamp] = None  # a locked secondary stops applying the oplog here

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_bearing(self) -> bool:
        return self.role != "arbiter"

    @property
    def state(self) -> tuple:
        return STATES.get(self.role, (2, "SECONDARY"))


@dataclass
class ReplicaSetConfig:
    set_name: str
    version: str
    members: List[Member]

    def member(self, name: str) -> Member:
        for member in self.members:
            if member.name == name:
                return member
        raise KeyError(name)

    @property
    def primary(self) -> Member:
        return next(m for m in self.members if m.role == "primary")

    def hosts(self, role: str) -> List[str]:
        return [m.host for m in self.members if m.role == role]

    def hello(self, member: Member, legacy: bool, last_write: Dict[str, Any]) -> Dict[str, Any]:
        """The topology part of a hello reply from ``member`` (no ok / cluster time)."""
        writable = member.role == "primary"
        reply: Dict[str, Any] = {
            "topologyVersion": {"processId": member.process_id, "counter": Int64(0)},
            "hosts": self.hosts("primary") + self.hosts("secondary"),
        }
        for key, role in (("passives", "passive"), ("arbiters", "arbiter")):
            if self.hosts(role):
                reply[key] = self.hosts(role)
        reply["setName"] = self.set_name
        reply["setVersion"] = 1
        reply["ismaster" if legacy else "isWritablePrimary"] = writable
        reply["secondary"] = member.role in ("secondary", "passive", "hidden")
        if self.primary.up:
            reply["primary"] = self.primary.host
        if member.role in ("passive", "hidden"):
            reply["passive"] = True
        if member.role == "hidden":
            reply["hidden"] = True
        if member.role == "arbiter":
            reply["arbiterOnly"] = True
        reply["me"] = member.host
        if writable:
            reply["electionId"] = ELECTION_ID
        if member.data_bearing:
            reply["lastWrite"] = last_write
        reply.update(
            maxBsonObjectSize=16 * 1024 * 1024,
            maxMessageSizeBytes=48_000_000,
            maxWriteBatchSize=100_000,
            localTime=datetime.datetime.now(datetime.timezone.utc),
            logicalSessionTimeoutMinutes=30,
            minWireVersion=0,
            maxWireVersion=wire_version(self.version),
            readOnly=False,
        )
        return reply
