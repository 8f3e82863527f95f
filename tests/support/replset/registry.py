"""The command table: each handler registers its name(s), the kind of node it needs, and whether it needs a login.

Kinds follow how a mongod decides where a command may run (manual, "Read Preference" and
"Replica Set Members"): ``write`` only on the primary (NotWritablePrimary 10107 elsewhere; held
while fsync-locked), ``read`` on the primary or, with secondaryOk / a non-primary
``$readPreference``, a secondary (NotPrimaryNoSecondaryOk 13435; an arbiter answers
NotPrimaryOrSecondary 13436), ``any`` everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Set, Tuple

from .errors import CommandError

if TYPE_CHECKING:
    from .catalog import Store
    from .scram import Conversation
    from .server import Server
    from .topology import Member


@dataclass
class Connection:
    """Per-connection state: who logged in, and a SCRAM conversation in progress."""

    connection_id: int
    users: Set[Tuple[str, str]] = field(default_factory=set)  # (db, user)
    conversation: Optional[Conversation] = None
    conversation_user: Optional[Tuple[str, str]] = None
    skip_empty: bool = False  # saslStart's options.skipEmptyExchange


@dataclass
class Call:
    """One command being run: what was sent, to which member, on which connection."""

    server: Server
    member: Member
    connection: Connection
    command: Dict[str, Any]
    db: str
    sequences: Dict[str, List[Any]]

    @property
    def store(self) -> Store:
        return self.server.store

    @property
    def name(self) -> str:
        return next(iter(self.command))

    @property
    def target(self) -> Any:
        """The value of the command's first field (usually a collection name)."""
        return self.command[self.name]

    def collection_name(self) -> str:
        value = self.target
        if not isinstance(value, str) or not value:
            raise CommandError(73, f"collection name must be a non-empty string, not {value!r}")
        return value

    def documents(self, key: str) -> List[Any]:
        """An array argument, from the body or from an OP_MSG document sequence."""
        if key in self.sequences:
            return self.sequences[key]
        value = self.command.get(key, [])
        if not isinstance(value, list):
            raise CommandError(14, f"{key} must be an array")
        return value


@dataclass(frozen=True)
class Spec:
    handler: Callable[[Call], Dict[str, Any]]
    kind: str  # any | read | write
    auth: bool  # a login is needed
    locked: bool  # run under the store's lock


COMMANDS: Dict[str, Spec] = {}


def command(*names: str, kind: str = "any", auth: bool = True, locked: bool = True) -> Callable:
    def register(handler: Callable[[Call], Dict[str, Any]]) -> Callable[[Call], Dict[str, Any]]:
        for name in names:
            COMMANDS[name] = Spec(handler, kind, auth, locked)
        return handler

    return register
