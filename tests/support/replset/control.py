"""A small HTTP control API on 127.0.0.1 for tests and people: list, stop and start members.

``GET /members`` → ``{name: {host, role, up}}``; ``POST /members/<name>/stop`` and
``POST /members/<name>/start`` → the member's new state. Answers 404 for an unknown member.
``POST /oplog/rollback/<n>`` simulates a rollback: the newest n oplog entries go, the term rises.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Dict

from .listener import MemberListener


def control_server(port: int, listeners: Dict[str, MemberListener]) -> ThreadingHTTPServer:
    mutex = threading.Lock()

    def describe() -> Dict[str, dict]:
        return {
            name: {"host": it.member.host, "role": it.member.role, "up": it.member.up}
            for name, it in listeners.items()
        }

    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            if self.path == "/members":
                self._send(200, describe())
            else:
                self._send(404, {"error": f"no such path {self.path}: use /members"})

        def do_POST(self) -> None:
            parts = self.path.strip("/").split("/")
            if len(parts) == 3 and parts[:2] == ["oplog", "rollback"] and parts[2].isdigit():
                store = next(iter(listeners.values())).server.store
                with store.lock:
                    removed = store.oplog.rollback(int(parts[2]))
                self._send(200, {"removed": removed, "term": store.oplog.term})
                return
            if len(parts) != 3 or parts[0] != "members" or parts[2] not in ("stop", "start"):
                self._send(404, {"error": f"no such path {self.path}: use /members/<name>/stop or /start"})
                return
            listener = listeners.get(parts[1])
            if listener is None:
                self._send(404, {"error": f"no member {parts[1]!r}: one of {sorted(listeners)}"})
                return
            with mutex:
                if parts[2] == "stop" and listener.member.up:
                    listener.stop()
                elif parts[2] == "start" and not listener.member.up:
                    listener.start()
            self._send(200, describe()[parts[1]])

        def log_message(self, format: str, *args: object) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", port), Handler)
