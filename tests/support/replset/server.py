"""Runs one request against the shared state and builds the reply every member sends.

Replies carry ``$clusterTime`` and ``operationTime`` (Timestamps) from data-bearing members
(replica-set-facts.md §1). A failure is MongoDB's error document (``errors.CommandError``); an
unexpected exception becomes InternalError (code 1) with the traceback in the server's log, so a
client never sees a crash or a hang.
"""

from __future__ import annotations

import itertools
import sys
import traceback
from typing import Any, Dict, Optional

from . import cmd_admin, cmd_applyops, cmd_catalog, cmd_crud, cmd_users  # noqa: F401  (they register commands)
from .catalog import Store
from .cursors import CursorTable
from .errors import CommandError
from .registry import COMMANDS, Call, Connection
from .topology import Member, ReplicaSetConfig
from .wire import OP_QUERY, Request

LEGACY_HELLO = ("isMaster", "ismaster", "hello")


class Server:
    """The whole set's state: the data, the cursors, the topology (each member keeps its fsync lock count)."""

    def __init__(self, config: ReplicaSetConfig, store: Store, auth: bool = True) -> None:
        self.config = config
        self.store = store
        self.auth = auth
        self.cursors = CursorTable()
        self._connection_ids = itertools.count(1)

    def connection(self) -> Connection:
        return Connection(next(self._connection_ids))

    def handle(self, request: Request, member: Member, connection: Connection) -> Dict[str, Any]:
        try:
            reply = self._run(request, member, connection)
        except CommandError as exc:
            reply = exc.reply()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            reply = CommandError(
                1, f"test server error in {request.name}: {type(exc).__name__}: {exc}"
            ).reply()
        if member.data_bearing:
            with self.store.lock:
                reply["$clusterTime"] = self.store.clock.cluster_time_field()
                reply["operationTime"] = self.store.clock.last
        return reply

    def _run(self, request: Request, member: Member, connection: Connection) -> Dict[str, Any]:
        name = request.name
        if request.op_code == OP_QUERY and (request.legacy_collection != "$cmd" or name not in LEGACY_HELLO):
            raise CommandError(
                352, f"Unsupported OP_QUERY command: {name}. The client driver may require an upgrade."
            )
        spec = COMMANDS.get(name)
        if spec is None:
            raise CommandError(59, f"no such command: '{name}'")
        if self.auth and spec.auth and not connection.users:
            raise CommandError(13, f"Command {name} requires authentication")
        if "autocommit" in request.command or "startTransaction" in request.command:
            raise CommandError(263, "multi-document transactions are not supported by this test server")
        self._check_member(request, member, spec.kind)
        call = Call(self, member, connection, request.command, request.db, request.sequences)
        if not spec.locked:
            return spec.handler(call)
        with self.store.lock:
            if spec.kind == "write":
                while member.fsync_count > 0:  # fsync lock: writes queue until the last unlock
                    self.store.lock.wait()
            return spec.handler(call)

    @staticmethod
    def _check_member(request: Request, member: Member, kind: str) -> None:
        if kind == "any":
            return
        if not member.data_bearing:
            raise CommandError(13436, "node is not in primary or recovering state")
        if member.role == "primary":
            return
        if kind == "write":
            raise CommandError(10107, "not primary")
        preference: Optional[dict] = request.command.get("$readPreference")
        secondary_ok = request.secondary_ok or (
            isinstance(preference, dict) and preference.get("mode") != "primary"
        )
        if not secondary_ok:
            raise CommandError(13435, "not primary and secondaryOk=false")
