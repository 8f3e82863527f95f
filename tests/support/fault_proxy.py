"""A programmable TCP fault proxy for the fault-injection tests: a real process on a loopback port.

It sits between a client (the modules) and a test server (moto's S3 or the nx-27017 stand-in) and
injects the faults a network and a flaky store produce:

* ``tcp`` mode relays bytes both ways; rules cut a connection after N bytes in either direction,
  delay every chunk, or reset (RST) a connection.
* ``http`` mode (for S3) relays one HTTP/1.1 request at a time, so a rule can pick requests by
  method, path and query (``PUT ?partNumber=``, ``POST ?uploads``, ``DELETE ?uploadId=``...) and
  reply ``500``/``503``/``SlowDown`` instead of forwarding, hold the request, cut it after N bytes
  of its body or of its response, or reset the connection.
* ``down`` closes the listening socket (new connections are refused) and resets the open ones;
  ``up`` listens again on the same port.

A rule applies ``count`` times, or until cleared when ``count`` is null. The proxy is driven over
a control HTTP endpoint (JSON): ``POST /rules``, ``DELETE /rules``, ``POST /down``, ``POST /up``,
``GET /events`` (each request or connection seen and what was done to it), ``DELETE /events``.
``fault_proxy_control.start_fault_proxy`` starts it and wraps that endpoint for the tests.

Run: ``python fault_proxy.py --mode http --port P --control-port C --target-port T``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Dict, List, Optional, Tuple

CHUNK = 64 * 1024
SLOWDOWN_BODY = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message><RequestId>fault-proxy</RequestId></Error>"
)
REASONS = {500: "Internal Server Error", 503: "Service Unavailable", 502: "Bad Gateway", 404: "Not Found"}


# -- rules --------------------------------------------------------------------------------------
@dataclass
class Rule:
    """One programmed fault. ``action``: status, slowdown, cut, reset, delay, hold."""

    action: str
    method: Optional[str] = None  # http: request method to match
    query: Optional[str] = None  # http: a query parameter name that must be present (``partNumber``)
    path: Optional[str] = None  # http: a substring of the path
    status: int = 500
    after_bytes: int = 0  # cut/reset: after this many bytes of the chosen direction
    direction: str = "up"  # up: client -> server (request); down: server -> client (response)
    seconds: float = 0.0  # delay/hold
    count: Optional[int] = None  # times left; None = until cleared
    hits: int = 0

    def matches(self, method: str = "", path: str = "", query: str = "") -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method and self.method.upper() != method.upper():
            return False
        if self.query and self.query not in urllib.parse.parse_qs(query, keep_blank_values=True):
            return False
        return not (self.path and self.path not in path)


class Faults:
    """The rule table and the event log, shared by the relay threads and the control endpoint."""

    def __init__(self) -> None:
        self.rules: List[Rule] = []
        self.events: List[Dict[str, Any]] = []
        self.mutex = threading.Lock()

    def take(self, **request: str) -> Optional[Rule]:
        """The first rule that matches ``request``; its count goes down by one."""
        with self.mutex:
            for rule in self.rules:
                if rule.matches(**request):
                    rule.hits += 1
                    if rule.count is not None:
                        rule.count -= 1
                    return rule
        return None

    def log(self, **event: Any) -> None:
        with self.mutex:
            self.events.append({"time": time.time(), **event})


# -- socket helpers -----------------------------------------------------------------------------
def reset(sock: socket.socket) -> None:
    """Close with SO_LINGER 0: the peer sees a connection reset (RST), not a clean end."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RD)  # wakes a relay thread blocked in recv, so the close really happens
    with contextlib.suppress(OSError):
        sock.close()


def close(sock: socket.socket) -> None:
    """End the connection for the peer too (FIN), even while another relay thread still reads it."""
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


class Reader:
    """Buffered reads from a socket: lines (for HTTP heads) and exact byte counts."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def fill(self) -> bool:
        data = self.sock.recv(CHUNK)
        if not data:
            return False
        self.buffer += data
        return True

    def head(self) -> Optional[bytes]:
        """Everything up to and including the blank line that ends an HTTP head (None at EOF)."""
        while b"\r\n\r\n" not in self.buffer:
            if not self.fill():
                return None
        end = self.buffer.index(b"\r\n\r\n") + 4
        head, self.buffer = self.buffer[:end], self.buffer[end:]
        return head

    def chunks(self, length: int):
        """Yield exactly ``length`` bytes in pieces."""
        while length > 0:
            if not self.buffer and not self.fill():
                raise ConnectionError("peer closed mid-body")
            piece, self.buffer = self.buffer[:length], self.buffer[length:]
            length -= len(piece)
            yield piece

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            if not self.fill():
                raise ConnectionError("peer closed mid-line")
        end = self.buffer.index(b"\r\n") + 2
        line, self.buffer = self.buffer[:end], self.buffer[end:]
        return line

    def rest(self):
        """Everything until the peer closes."""
        if self.buffer:
            data, self.buffer = self.buffer, b""
            yield data
        while True:
            data = self.sock.recv(CHUNK)
            if not data:
                return
            yield data


def parse_head(head: bytes) -> Tuple[str, List[Tuple[str, str]]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers.append((name.strip(), value.strip()))
    return lines[0], headers


def header(headers: List[Tuple[str, str]], name: str) -> Optional[str]:
    return next((value for key, value in headers if key.lower() == name.lower()), None)


def build_head(first: str, headers: List[Tuple[str, str]]) -> bytes:
    return ("\r\n".join([first, *(f"{k}: {v}" for k, v in headers)]) + "\r\n\r\n").encode("latin-1")


def body_pieces(reader: Reader, headers: List[Tuple[str, str]], until_close: bool):
    """The raw bytes of an HTTP body as framed on the wire (Content-Length, chunked or until close)."""
    length = header(headers, "Content-Length")
    if length is not None:
        yield from reader.chunks(int(length))
    elif (header(headers, "Transfer-Encoding") or "").lower() == "chunked":
        while True:
            line = reader.line()
            yield line
            size = int(line.split(b";")[0].strip(), 16)
            yield from reader.chunks(size + 2)
            if size == 0:
                return
    elif until_close:
        yield from reader.rest()


class Budget:
    """Counts bytes sent in one direction; ``spend`` returns how many may still go before a cut."""

    def __init__(self, rule: Optional[Rule]) -> None:
        self.left = rule.after_bytes if rule else None

    def send(self, sock: socket.socket, data: bytes) -> bool:
        """Send ``data`` within the budget; False once the budget is spent (the caller cuts)."""
        if self.left is None:
            sock.sendall(data)
            return True
        allowed = data[: self.left]
        if allowed:
            sock.sendall(allowed)
        self.left -= len(allowed)
        return len(allowed) == len(data) and self.left > 0


# -- the relays ---------------------------------------------------------------------------------
class Proxy:
    """Listens on ``port`` and relays to ``target``; ``down``/``up`` toggle the listener."""

    def __init__(self, port: int, target: Tuple[str, int], mode: str, faults: Faults) -> None:
        self.port = port
        self.target = target
        self.mode = mode
        self.faults = faults
        self.listener: Optional[socket.socket] = None
        self.open: List[socket.socket] = []
        self.mutex = threading.Lock()
        self.connections = 0

    def up(self) -> None:
        with self.mutex:
            if self.listener is not None:
                return
            listener = socket.socket()
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(128)
            self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        self.faults.log(kind="up")

    def down(self) -> None:
        with self.mutex:
            listener, self.listener = self.listener, None
            sockets, self.open = self.open, []
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            close(listener)
        for sock in sockets:
            reset(sock)
        self.faults.log(kind="down")

    def _track(self, *socks: socket.socket) -> None:
        with self.mutex:
            self.open.extend(socks)

    def _forget(self, *socks: socket.socket) -> None:
        with self.mutex:
            self.open = [s for s in self.open if s not in socks]
        for sock in socks:
            close(sock)

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _unused = listener.accept()
            except OSError:
                return
            with self.mutex:
                self.connections += 1
                number = self.connections
            handler = self._http if self.mode == "http" else self._tcp
            threading.Thread(target=self._serve, args=(handler, client, number), daemon=True).start()

    def _serve(self, handler: Callable[..., None], client: socket.socket, number: int) -> None:
        upstream: Optional[socket.socket] = None
        try:
            if self.mode == "tcp":
                rule = self.faults.take()
                self.faults.log(kind="connection", number=number, action=rule.action if rule else None)
                if rule and rule.action == "reset" and rule.after_bytes == 0:
                    reset(client)
                    return
            else:
                rule = None
            upstream = socket.create_connection(self.target, timeout=30)
            upstream.settimeout(None)
            self._track(client, upstream)
            handler(client, upstream, rule)
        except OSError:
            pass
        finally:
            self._forget(client, *(s for s in [upstream] if s is not None))

    # tcp mode: two pumps, one per direction
    def _tcp(self, client: socket.socket, upstream: socket.socket, rule: Optional[Rule]) -> None:
        pumps = []
        for source, sink, direction in ((client, upstream, "up"), (upstream, client, "down")):
            applies = rule if rule and rule.direction == direction else None
            thread = threading.Thread(target=self._pump, args=(source, sink, applies, (client, upstream)))
            thread.daemon = True
            thread.start()
            pumps.append(thread)
        for thread in pumps:
            thread.join()

    def _pump(self, source: socket.socket, sink: socket.socket, rule: Optional[Rule], both) -> None:
        budget = Budget(rule if rule and rule.action in ("cut", "reset") else None)
        try:
            while True:
                data = source.recv(CHUNK)
                if not data:
                    sink.shutdown(socket.SHUT_WR)
                    return
                if rule and rule.action == "delay":
                    time.sleep(rule.seconds)
                if not budget.send(sink, data):
                    self._cut(rule, both)
                    return
        except OSError:
            for sock in both:
                close(sock)

    def _cut(self, rule: Optional[Rule], both) -> None:
        for sock in both:
            if rule is not None and rule.action == "reset":
                reset(sock)
            else:
                close(sock)

    # http mode: one request at a time, so that rules can pick requests
    def _http(self, client: socket.socket, upstream: socket.socket, _rule: Optional[Rule]) -> None:
        from_client, from_upstream = Reader(client), Reader(upstream)
        while self._exchange(client, upstream, from_client, from_upstream):
            pass

    def _exchange(
        self, client: socket.socket, upstream: socket.socket, from_client: Reader, from_upstream: Reader
    ) -> bool:
        """Relay one request and its reply, applying the first matching rule; False ends the connection."""
        head = from_client.head()
        if head is None:
            return False
        first, headers = parse_head(head)
        method, target = first.split(" ", 2)[:2]
        parsed = urllib.parse.urlsplit(target)
        rule = self.faults.take(method=method, path=parsed.path, query=parsed.query)
        action = rule.action if rule else None
        self.faults.log(kind="request", method=method, path=parsed.path, query=parsed.query, action=action)
        expects = (header(headers, "Expect") or "").lower() == "100-continue"
        headers = [(k, v) for k, v in headers if k.lower() != "expect"]
        if action in ("delay", "hold"):
            time.sleep(rule.seconds)
        if action == "reset" and rule.direction == "up" and rule.after_bytes == 0:
            reset(client)
            return False
        if action in ("status", "slowdown"):
            if not expects:  # the body is on its way: read it so the reply is seen, not a reset
                for _unused in body_pieces(from_client, headers, until_close=False):
                    pass
            client.sendall(self._error(rule))
            return False  # the reply says ``Connection: close``
        if expects:
            client.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        cutting = rule if action in ("cut", "reset") else None
        up = Budget(cutting if cutting and cutting.direction == "up" else None)
        upstream.sendall(build_head(first, headers))  # cut in the body only: a server may act on a bare head
        if not all(
            up.send(upstream, piece) for piece in body_pieces(from_client, headers, until_close=False)
        ):
            self._cut(rule, (client, upstream))
            return False
        down = Budget(cutting if cutting and cutting.direction == "down" else None)
        return self._reply(client, upstream, from_upstream, method=method, down=down, rule=rule)

    def _reply(
        self,
        client: socket.socket,
        upstream: socket.socket,
        from_upstream: Reader,
        *,
        method: str,
        down: Budget,
        rule: Optional[Rule],
    ) -> bool:
        """Relay the server's reply (after any 1xx interim replies) within the ``down`` budget."""
        status, reply_headers = 100, []
        while status < 200:
            reply = from_upstream.head()
            if reply is None:
                return False
            status_line, reply_headers = parse_head(reply)
            status = int(status_line.split(" ")[1])
            if not down.send(client, reply):
                self._cut(rule, (client, upstream))
                return False
        if method.upper() != "HEAD" and status not in (204, 304):
            pieces = body_pieces(from_upstream, reply_headers, until_close=True)
            if not all(down.send(client, piece) for piece in pieces):
                self._cut(rule, (client, upstream))
                return False
        return (header(reply_headers, "Connection") or "").lower() != "close"

    @staticmethod
    def _error(rule: Rule) -> bytes:
        if rule.action == "slowdown":
            status, body = 503, SLOWDOWN_BODY
        else:
            status = rule.status
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{"InternalError" if status == 500 else "ServiceUnavailable"}'
                f"</Code><Message>injected by the fault proxy</Message></Error>"
            ).encode()
        head = [
            f"HTTP/1.1 {status} {REASONS.get(status, 'Error')}",
            "Content-Type: application/xml",
            f"Content-Length: {len(body)}",
            "Connection: close",
        ]
        return ("\r\n".join(head) + "\r\n\r\n").encode() + body


# -- the control endpoint -----------------------------------------------------------------------
def control_server(port: int, proxy: Proxy, faults: Faults) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _reply(self, payload: Any, status: int = 200) -> None:
            body = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with faults.mutex:
                if self.path == "/events":
                    return self._reply(list(faults.events))
                if self.path == "/rules":
                    return self._reply([rule.__dict__ for rule in faults.rules])
            return self._reply({"error": "unknown path"}, 404)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            payload = json.loads(self.rfile.read(length) or b"{}")
            if self.path == "/rules":
                try:
                    rule = Rule(**payload)
                except TypeError as exc:
                    return self._reply({"error": str(exc)}, 400)
                with faults.mutex:
                    faults.rules.append(rule)
                return self._reply({"ok": True})
            if self.path == "/down":
                proxy.down()
                return self._reply({"ok": True})
            if self.path == "/up":
                proxy.up()
                return self._reply({"ok": True})
            return self._reply({"error": "unknown path"}, 404)

        def do_DELETE(self) -> None:
            with faults.mutex:
                if self.path == "/rules":
                    faults.rules.clear()
                elif self.path == "/events":
                    faults.events.clear()
                else:
                    return self._reply({"error": "unknown path"}, 404)
            return self._reply({"ok": True})

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    return server


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=["tcp", "http"], default="tcp")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--target-port", type=int, required=True)
    args = parser.parse_args(argv)
    faults = Faults()
    proxy = Proxy(args.port, ("127.0.0.1", args.target_port), args.mode, faults)
    control = control_server(args.control_port, proxy, faults)
    proxy.up()
    control.serve_forever()


if __name__ == "__main__":
    main()
