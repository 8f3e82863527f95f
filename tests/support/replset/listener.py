"""One member's TCP listener on 127.0.0.1: a thread per connection; stop closes the port and every connection.

A stopped member behaves like a killed mongod as far as a client sees: connecting is refused and
open connections are cut. Starting it again listens on the same port with a new
``topologyVersion.processId``.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Set

from bson.objectid import ObjectId

from .server import Server
from .topology import Member
from .wire import ConnectionClosed, encode_reply, read_request


class MemberListener:
    def __init__(self, member: Member, server: Server) -> None:
        self.member = member
        self.server = server
        self.sock: socket.socket = None  # type: ignore[assignment]
        self.thread: threading.Thread = None  # type: ignore[assignment]
        self.clients: Set[socket.socket] = set()
        self.mutex = threading.Lock()

    def start(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.member.port))
        sock.listen(64)
        sock.settimeout(0.05)
        self.member.process_id = ObjectId()
        self.member.stopping = threading.Event()
        self.member.up = True
        self.sock = sock
        self.thread = threading.Thread(target=self._accept, args=(sock, self.member.stopping), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.member.up = False
        self.member.stopping.set()
        self.thread.join()
        self.sock.close()
        with self.mutex:
            clients, self.clients = self.clients, set()
        for client in clients:
            with contextlib.suppress(OSError):
                client.shutdown(socket.SHUT_RDWR)
            client.close()
        with self.server.store.lock:
            self.server.store.lock.notify_all()  # wake getMores waiting on this member's connections

    def _accept(self, sock: socket.socket, stopping: threading.Event) -> None:
        while not stopping.is_set():
            try:
                client, _unused = sock.accept()
            except socket.timeout:
                continue
            client.settimeout(None)
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.mutex:
                self.clients.add(client)
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        connection = self.server.connection()
        try:
            while self.member.up:
                request = read_request(client)
                reply = self.server.handle(request, self.member, connection)
                if not request.more_to_come and self.member.up:
                    client.sendall(encode_reply(request, reply))
        except (ConnectionClosed, OSError):
            pass
        except Exception as exc:  # a message we cannot decode: close the connection, as a mongod does
            print(
                f"replset {self.member.name}: closing a connection: {type(exc).__name__}: {exc}", flush=True
            )
        finally:
            with self.mutex:
                self.clients.discard(client)
            client.close()
