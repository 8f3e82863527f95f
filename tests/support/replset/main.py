"""Start a replica set stand-in: every member a listener on 127.0.0.1, one shared data set, a control port.

Run by hand (from ``tests/``)::

    python -m support.replset --member primary=primary:27017 --member secondary=secondary:27018 \\
        --member hidden=hidden:27019 --member arbiter=arbiter:27020 --control-port 27099 \\
        --admin-user root --admin-password example

Then ``mongodb://root:example@127.0.0.1:27017/?replicaSet=rs0`` (discovery) or
``...?directConnection=true`` (one member). SIGTERM or Ctrl-C stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from pathlib import Path
from typing import List, Optional

from .catalog import Store
from .control import control_server
from .listener import MemberListener
from .server import Server
from .topology import ROLES, Member, ReplicaSetConfig, wire_version
from .users import bootstrap


def _member(text: str, member_id: int) -> Member:
    try:
        name, rest = text.split("=", 1)
        role, port = rest.split(":", 1)
        member = Member(name, role, int(port), member_id)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--member {text!r}: write name=role:port, e.g. primary=primary:27017"
        ) from None
    if role not in ROLES:
        raise argparse.ArgumentTypeError(f"--member {text!r}: role must be one of {', '.join(ROLES)}")
    return member


def parse(argv: Optional[List[str]]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m support.replset", description=__doc__.splitlines()[0])
    parser.add_argument("--set-name", default="rs0")
    parser.add_argument(
        "--version", default="7.0.12", help="the MongoDB version to claim (5.0, 6.0, 7.0, 8.0 .x)"
    )
    parser.add_argument(
        "--member", action="append", required=True, help=f"name=role:port (role: {', '.join(ROLES)})"
    )
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--oplog-size", type=int, default=64 * 1024 * 1024, help="oplog cap in bytes")
    parser.add_argument("--admin-user", default="root")
    parser.add_argument("--admin-password", default="example")
    parser.add_argument("--admin-password-file", help="read the password from this file (keeps it out of ps)")
    parser.add_argument("--no-auth", action="store_true", help="accept commands without a login")
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse(argv)
    try:
        wire_version(args.version)
        members = [_member(text, index) for index, text in enumerate(args.member)]
    except (ValueError, argparse.ArgumentTypeError) as exc:
        print(f"replset: {exc}", file=sys.stderr)
        return 2
    if sum(m.role == "primary" for m in members) != 1:
        print("replset: give exactly one --member with the role primary", file=sys.stderr)
        return 2
    if len({m.name for m in members}) != len(members):
        print("replset: give each --member its own name", file=sys.stderr)
        return 2
    if args.admin_password_file:
        try:
            args.admin_password = Path(args.admin_password_file).read_text().strip()
        except OSError as exc:
            print(
                f"replset: --admin-password-file: {exc.strerror}: {args.admin_password_file}", file=sys.stderr
            )
            return 2
    store = Store(args.oplog_size)
    with store.lock:
        store.noop("initiating set")
        bootstrap(store, args.admin_user, args.admin_password)
    server = Server(ReplicaSetConfig(args.set_name, args.version, members), store, auth=not args.no_auth)
    listeners = {m.name: MemberListener(m, server) for m in members}
    try:
        for listener in listeners.values():
            listener.start()
        control = control_server(args.control_port, listeners)
    except OSError as exc:
        print(f"replset: cannot listen on 127.0.0.1: {exc.strerror}: pick free ports", file=sys.stderr)
        return 1
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    print(f"replset {args.set_name}: " + ", ".join(f"{m.name}={m.host}" for m in members), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    control.shutdown()
    return 0
