"""A scripted MongoDB node (mockupdb) that keeps fsync lock state like a real mongod.

The replies follow MongoDB's documented shapes: ``fsync`` with ``lock: true`` answers with
``lockCount``, ``fsyncUnlock`` answers with the remaining ``lockCount`` or ``IllegalOperation``
when nothing is locked, ``currentOp`` carries ``fsyncLock: true`` while locked, and commands the
user may not run fail with ``Unauthorized`` (code 13).
"""

from __future__ import annotations

import threading
from typing import Any, Dict, List, Optional, Set, Tuple

from mockupdb import MockupDB

WIRE_VERSIONS = {"4.4": 9, "6.0": 17, "7.0": 21, "8.0": 25}


class FsyncFake:
    """A node of the given ``kind``: standalone, secondary, primary, mongos or arbiter."""

    def __init__(
        self,
        kind: str = "standalone",
        version: str = "7.0.12",
        hidden: bool = False,
        denied: Optional[Set[str]] = None,
        auth_fails: bool = False,
    ) -> None:
        self.kind = kind
        self.hidden = hidden
        self.version = version
        self.denied = denied or set()
        self.auth_fails = auth_fails
        self.lock_count = 0
        self.calls: List[Tuple[str, int]] = []  # (command name, client port)
        self._mutex = threading.Lock()
        self.server = MockupDB(request_timeout=5)
        self.server.autoresponds(self._respond)

    def start(self) -> FsyncFake:
        self.server.run()
        return self

    def stop(self) -> None:
        self.server.stop()

    @property
    def port(self) -> int:
        return self.server.address[1]

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}/?directConnection=true"

    def commands(self, name: str) -> List[int]:
        """The client ports that ran ``name`` so far (one entry per call)."""
        with self._mutex:
            return [port for command, port in self.calls if command == name]

    # -- replies -------------------------------------------------------------------------------
    def _hello(self) -> Dict[str, Any]:
        major_minor = ".".join(self.version.split(".")[:2])
        reply: Dict[str, Any] = {
            "ismaster": self.kind in ("standalone", "primary", "mongos"),
            "isWritablePrimary": self.kind in ("standalone", "primary", "mongos"),
            "maxWireVersion": WIRE_VERSIONS.get(major_minor, 21),
            "minWireVersion": 0,
            "maxBsonObjectSize": 16 * 1024 * 1024,
            "maxMessageSizeBytes": 48000000,
            "maxWriteBatchSize": 100000,
        }
        if self.kind == "mongos":
            reply["msg"] = "isdbgrid"
        if self.kind in ("primary", "secondary", "arbiter"):
            reply.update(setName="rs0", hosts=[f"127.0.0.1:{self.port}"], me=f"127.0.0.1:{self.port}")
            reply["secondary"] = self.kind == "secondary"
            if self.hidden:
                reply["hidden"] = True
            if self.kind == "arbiter":
                reply["arbiterOnly"] = True
        return reply

    def _respond(self, request: Any) -> bool:
        name = request.command_name or ""
        client_port = request.client_port
        with self._mutex:
            self.calls.append((name, client_port))
        lowered = name.lower()
        if lowered in ("ismaster", "hello"):
            return request.reply(self._hello())
        if lowered in ("saslstart", "saslcontinue", "authenticate"):
            if self.auth_fails:
                return request.command_err(18, "Authentication failed.", codeName="AuthenticationFailed")
            return False
        if name in self.denied:
            message = f"not authorized on admin to execute command {{ {name}: 1 }}"
            return request.command_err(13, message, codeName="Unauthorized")
        handler = getattr(self, f"_cmd_{lowered}", None)
        if handler is None:
            return request.command_err(59, f"no such command: '{name}'", codeName="CommandNotFound")
        return handler(request)

    def _cmd_ping(self, request: Any) -> bool:
        request.ok()
        return True

    def _cmd_buildinfo(self, request: Any) -> bool:
        parts = [int(part) for part in self.version.split(".")]
        request.ok(version=self.version, versionArray=[*parts, 0])
        return True

    def _cmd_endsessions(self, request: Any) -> bool:
        request.ok()
        return True

    def _cmd_fsync(self, request: Any) -> bool:
        if not request.doc.get("lock"):
            request.ok(numFiles=1)
            return True
        with self._mutex:
            self.lock_count += 1
            count = self.lock_count
        request.ok(
            info="now locked against writes, use db.fsyncUnlock() to unlock",
            lockCount=count,
            seeAlso="http://dochub.mongodb.org/core/fsynccommand",
        )
        return True

    def _cmd_fsyncunlock(self, request: Any) -> bool:
        with self._mutex:
            if self.lock_count == 0:
                request.command_err(20, "fsyncUnlock called when not locked", codeName="IllegalOperation")
                return True
            self.lock_count -= 1
            count = self.lock_count
        request.ok(info="fsyncUnlock completed", lockCount=count)
        return True

    def _cmd_currentop(self, request: Any) -> bool:
        with self._mutex:
            locked = self.lock_count > 0
        reply: Dict[str, Any] = {"inprog": []}
        if locked:
            reply["fsyncLock"] = True
            reply["info"] = "use db.fsyncUnlock() to terminate the fsync write/snapshot lock"
        request.ok(reply)
        return True
