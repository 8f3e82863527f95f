"""Start the replica-set stand-in from pytest (or any Python) and drive it: URIs, clients, stop/start members."""

from __future__ import annotations

import json
import secrets
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Sequence, Tuple
from urllib.parse import quote_plus

from pymongo import MongoClient

from ..processes import ServerProcess, free_port, wait_for_port

MAIN = Path(__file__).with_name("__main__.py")
DEFAULT_MEMBERS: Tuple[Tuple[str, str], ...] = (
    ("primary", "primary"),
    ("secondary", "secondary"),
    ("hidden", "hidden"),
    ("arbiter", "arbiter"),
)


@dataclass
class ReplicaSet:
    """A running set: ``members`` maps each member's name to (role, port)."""

    set_name: str
    version: str
    members: Dict[str, Tuple[str, int]]
    admin_user: str
    admin_password: str = field(repr=False)
    oplog_size: int
    control_port: int
    process: ServerProcess = field(repr=False)

    def host(self, name: str) -> str:
        return f"127.0.0.1:{self.members[name][1]}"

    def _credentials(self, user: str = "", password: str = "") -> str:
        user, password = user or self.admin_user, password or self.admin_password
        return f"{quote_plus(user)}:{quote_plus(password)}@"

    def member_uri(self, name: str, user: str = "", password: str = "") -> str:
        """One member, direct (as mongodump/the modules connect to one host)."""
        return f"mongodb://{self._credentials(user, password)}{self.host(name)}/?directConnection=true&authSource=admin"

    def anonymous_uri(self, name: str) -> str:
        """One member, direct, without a login (an arbiter holds no users, so only this works there)."""
        return f"mongodb://{self.host(name)}/?directConnection=true"

    @property
    def uri(self) -> str:
        """The whole set by discovery (``replicaSet=``), seeded with the members in ``hosts``."""
        seeds = ",".join(
            self.host(n) for n, (role, _unused) in self.members.items() if role in ("primary", "secondary")
        )
        return f"mongodb://{self._credentials()}{seeds}/?replicaSet={self.set_name}&authSource=admin"

    def client(self, name: str = "", **kwargs: Any) -> MongoClient:
        """A pymongo client to member ``name`` (direct) or, without a name, to the set."""
        kwargs.setdefault("serverSelectionTimeoutMS", 5000)
        return MongoClient(self.member_uri(name) if name else self.uri, **kwargs)

    def _control(self, method: str, path: str) -> Dict[str, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.control_port}{path}", method=method)
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read())

    def state(self) -> Dict[str, Any]:
        return self._control("GET", "/members")

    def stop_member(self, name: str) -> None:
        """The member stops listening and drops its connections (data stays, as on disk)."""
        self._control("POST", f"/members/{name}/stop")

    def start_member(self, name: str) -> None:
        self._control("POST", f"/members/{name}/start")
        wait_for_port(self.members[name][1], timeout=5)

    def rollback_oplog(self, count: int) -> Dict[str, Any]:
        """Simulate a rollback: the newest ``count`` oplog entries go and later writes get a new term."""
        return self._control("POST", f"/oplog/rollback/{count}")

    def stop(self) -> None:
        self.process.stop()


def start_replica_set(
    workdir: Path,
    *,
    members: Sequence[Tuple[str, str]] = DEFAULT_MEMBERS,
    version: str = "7.0.12",
    oplog_size: int = 64 * 1024 * 1024,
    set_name: str = "rs0",
    admin_user: str = "root",
) -> ReplicaSet:
    """Start the stand-in as its own process (stop it with ``.stop()``, by PID).

    A free port can be taken by another process before the stand-in binds it (other test runs share
    the machine): then it starts again on new ports, up to three times.
    """
    for attempt in range(3):
        try:
            return _start(
                workdir,
                members,
                version=version,
                oplog_size=oplog_size,
                set_name=set_name,
                admin_user=admin_user,
            )
        except RuntimeError as exc:
            if "Address already in use" not in str(exc) or attempt == 2:
                raise
    raise AssertionError("unreachable")


def _start(workdir: Path, members: Sequence[Tuple[str, str]], *, version: str, oplog_size: int, set_name: str,
           admin_user: str) -> ReplicaSet:  # fmt: skip
    ports = {name: (role, free_port()) for name, role in members}
    control_port = free_port()
    password = secrets.token_urlsafe(12)
    secret = workdir / f"replset-{set_name}.password"
    secret.touch(mode=0o600)
    secret.write_text(password)  # a file, not argv: other users' ps shows argv
    argv = [
        sys.executable, str(MAIN),
        "--set-name", set_name, "--version", version, "--oplog-size", str(oplog_size),
        "--control-port", str(control_port), "--admin-user", admin_user, "--admin-password-file", str(secret),
    ]  # fmt: skip
    for name, (role, port) in ports.items():
        argv += ["--member", f"{name}={role}:{port}"]
    process = ServerProcess(argv, control_port, workdir / f"replset-{set_name}.log")
    return ReplicaSet(set_name, version, ports, admin_user, password, oplog_size, control_port, process)
