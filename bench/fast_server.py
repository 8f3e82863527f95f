"""A MongoDB wire-protocol server that serves a fixed data set from memory, so a dump's own cost shows.

nx-27017 uses a whole core to serve a find; this server answers ``find``/``getMore`` with reply
messages encoded once at start-up (by ``bson``), so serving costs a ``sendall``. Writes (``insert``,
``create``, ``createIndexes``, ``drop``) are counted, never stored; ``serverStatus`` reports the counts.

Run: ``python bench/fast_server.py --port P --mib 256`` (see ``--help``); it listens on 127.0.0.1 at
once and answers once the data set is built (it prints ``ready``). Cursor ids carry their position
(collection and next batch, or next document), so the server keeps no cursor state. Batches are what
mongod sends without ``batchSize``: 101 documents first, then up to 16 MiB, pre-encoded; with
``batchSize`` (on ``find`` and ``getMore``, as mongod honours it) replies of that many documents (at most
16 MiB) are encoded as they are asked for. ``find`` takes only an empty filter (``limit`` is honoured).
"""

from __future__ import annotations

import argparse
import bisect
import contextlib
import itertools
import socket
import socketserver
import struct
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[1]
if __package__ in (None, ""):  # run as a script: make ``bench`` importable
    sys.path.insert(0, str(ROOT))

import bson  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.raw_bson import RawBSONDocument  # noqa: E402
from bson.son import SON  # noqa: E402

from bench.dataset import Layout, generate  # noqa: E402

sys.path.insert(0, str(ROOT / "tests"))
from support.processes import ServerProcess, free_port  # noqa: E402

HEADER = struct.Struct("<iiii")  # messageLength, requestID, responseTo, opCode
OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
CHECKSUM_PRESENT, MORE_TO_COME = 1, 2
FIRST_BATCH_DOCS = 101
VERSION = (7, 0, 0)
MAX_WIRE_VERSION = 21  # MongoDB 7.0
MAX_REPLY_BYTES = (16 << 20) - (16 << 10)  # the documents of one reply, at most (as mongod)


@dataclass
class Served:
    """One collection: its pre-encoded reply bodies (batch 0 answers ``find``, the rest ``getMore``)."""

    db: str
    name: str
    index: int
    replies: List[bytes] = field(default_factory=list)
    # every document, for ``find`` with a ``limit`` or ``batchSize``
    docs: List[Any] = field(default_factory=list)
    starts: List[int] = field(default_factory=list)  # the position of each reply's first document
    offsets: List[int] = field(default_factory=list)  # bytes before each document (and the total, last)
    count: int = 0
    size: int = 0

    @property
    def ns(self) -> str:
        return f"{self.db}.{self.name}"


DOCUMENT_CURSOR = 1 << 62  # a cursor id with this bit counts documents, not pre-encoded replies


def cursor_id(index: int, batch: int) -> Int64:
    """The id of a cursor on collection ``index`` whose next reply is ``batch``."""
    return Int64(((index + 1) << 32) | batch)


def document_cursor_id(index: int, position: int) -> Int64:
    """The id of a cursor on collection ``index`` (read with ``batchSize``) whose next document is ``position``."""
    return Int64(DOCUMENT_CURSOR | ((index + 1) << 32) | position)


def msg_body(reply: Any) -> bytes:
    """An OP_MSG body (no flags, one kind-0 section) around ``reply``."""
    return b"\x00\x00\x00\x00\x00" + bson.encode(reply)


def cursor_reply(ns: str, key: str, docs: List[Any], next_id: int) -> Any:
    return SON([("cursor", SON([(key, docs), ("id", Int64(next_id)), ("ns", ns)])), ("ok", 1.0)])


def batches(docs: Iterator[bytes], batch_bytes: int) -> Iterator[List[bytes]]:
    """101 documents first, then as many as fit in ``batch_bytes`` (mongod's default batching)."""
    batch: List[bytes] = []
    size, limit_docs = 0, FIRST_BATCH_DOCS
    for doc in docs:
        if batch and (len(batch) >= limit_docs or size + len(doc) > batch_bytes):
            yield batch
            batch, size, limit_docs = [], 0, 1 << 62
        batch.append(doc)
        size += len(doc)
    if batch:
        yield batch


def build(layout: Layout, batch_bytes: int) -> Dict[Tuple[str, str], Served]:
    """Every collection of ``layout`` with its replies encoded."""
    served: Dict[Tuple[str, str], Served] = {}
    for index, (db, name, docs) in enumerate(generate(layout)):
        item = Served(db, name, index)
        parts = list(batches(docs, batch_bytes))
        for number, batch in enumerate(parts):
            raw = [RawBSONDocument(doc) for doc in batch]
            following = cursor_id(index, number + 1) if number + 1 < len(parts) else 0
            key = "firstBatch" if number == 0 else "nextBatch"
            item.replies.append(msg_body(cursor_reply(item.ns, key, raw, following)))
            item.count += len(batch)
            item.size += sum(len(doc) for doc in batch)
        item.docs = [RawBSONDocument(doc) for batch in parts for doc in batch]
        item.starts = [sum(len(batch) for batch in parts[:number]) for number in range(len(parts))]
        item.offsets = list(itertools.accumulate((len(doc.raw) for doc in item.docs), initial=0))
        served[(db, name)] = item
    return served


def count_documents(data: memoryview) -> int:
    """How many concatenated BSON documents ``data`` holds (a kind-1 section's payload)."""
    count, pos, total = 0, 0, len(data)
    while pos < total:
        pos += int.from_bytes(data[pos : pos + 4], "little")
        count += 1
    return count


def parse_msg(body: memoryview) -> Tuple[int, Dict[str, Any], Dict[str, int]]:
    """(flags, command document, documents per kind-1 section) of an OP_MSG body."""
    flags = int.from_bytes(body[:4], "little")
    end = len(body) - (4 if flags & CHECKSUM_PRESENT else 0)
    pos, command, sequences = 4, {}, {}
    while pos < end:
        kind = body[pos]
        size = int.from_bytes(body[pos + 1 : pos + 5], "little")
        if kind == 0:
            command = bson.decode(bytes(body[pos + 1 : pos + 1 + size]))
        else:
            section = body[pos + 5 : pos + 1 + size]
            name_end = bytes(section[:200]).index(b"\x00")
            sequences[bytes(section[:name_end]).decode()] = count_documents(section[name_end + 1 :])
        pos += 1 + size
    return flags, command, sequences


def error(code: int, name: str, message: str) -> Dict[str, Any]:
    return {"ok": 0.0, "errmsg": message, "code": code, "codeName": name}


class FastMongo:
    """Answers commands; thread-safe (the served data never changes, counters take a lock)."""

    def __init__(self, served: Dict[Tuple[str, str], Served]) -> None:
        self.served = served
        self.by_index = {item.index: item for item in served.values()}
        self.lock = threading.Lock()
        self.inserted: Dict[str, int] = {}
        self.commands: Dict[str, int] = {}
        self.connections = 0
        # replies to batchSize, kept for the next reader
        self.encoded: Dict[Tuple[int, int, int, str], bytes] = {}
        self.started = datetime.now(timezone.utc)

    def databases(self) -> List[str]:
        return sorted({db for db, _name in self.served})

    def answer(self, command: Dict[str, Any], sequences: Dict[str, int]) -> bytes:
        """The OP_MSG reply body to ``command``."""
        name = next(iter(command), "")
        with self.lock:
            self.commands[name] = self.commands.get(name, 0) + 1
        db = command.get("$db", "admin")
        if name in ("find", "getMore"):
            return self.find(db, command) if name == "find" else self.get_more(db, command)
        handler = getattr(self, "cmd_" + name.lower(), None)
        if handler is None:
            return msg_body(
                error(59, "CommandNotFound", f"no such command: '{name}' (fast benchmark server)")
            )
        return msg_body(handler(db, command, sequences))

    # -- reads ------------------------------------------------------------------------------------
    def find(self, db: str, command: Dict[str, Any]) -> bytes:
        item = self.served.get((db, command["find"]))
        ns = f"{db}.{command['find']}"
        if command.get("filter"):
            return msg_body(error(2, "BadValue", "the fast benchmark server serves only an empty filter"))
        if item is None or not item.replies:
            return msg_body(cursor_reply(ns, "firstBatch", [], 0))
        limit = abs(int(command.get("limit") or 0))
        if limit:
            return msg_body(cursor_reply(ns, "firstBatch", item.docs[: min(limit, FIRST_BATCH_DOCS)], 0))
        if command.get("batchSize"):
            return self.documents_from(item, 0, int(command["batchSize"]), "firstBatch")
        return item.replies[0]

    def documents_from(self, item: Served, position: int, batch_size: int, key: str) -> bytes:
        """A reply of up to ``batch_size`` documents from ``position`` (and at most 16 MiB), encoded once."""
        cached = self.encoded.get((item.index, position, batch_size, key))
        if cached is None:
            cached = self.encoded[(item.index, position, batch_size, key)] = self._encode(
                item, position, batch_size, key
            )
        return cached

    def _encode(self, item: Served, position: int, batch_size: int, key: str) -> bytes:
        end = min(len(item.docs), position + max(1, batch_size))
        room = bisect.bisect_right(item.offsets, item.offsets[position] + MAX_REPLY_BYTES) - 1
        end = max(position + 1, min(end, room))  # one document always goes, however large
        next_id = document_cursor_id(item.index, end) if end < len(item.docs) else 0
        return msg_body(cursor_reply(item.ns, key, item.docs[position:end], next_id))

    def get_more(self, db: str, command: Dict[str, Any]) -> bytes:
        value = int(command["getMore"])
        item = self.by_index.get(((value & ~DOCUMENT_CURSOR) >> 32) - 1)
        position = value & 0xFFFFFFFF
        if value & DOCUMENT_CURSOR:
            found = item is not None and position < len(item.docs)
        else:
            found = item is not None and 0 < position < len(item.replies)
        if not found or item.db != db or item.name != command.get("collection"):
            return msg_body(error(43, "CursorNotFound", f"cursor id {value} not found"))
        if value & DOCUMENT_CURSOR or command.get("batchSize"):
            if not value & DOCUMENT_CURSOR:  # batchSize first given on a getMore: go on from that reply
                position = item.starts[position]
            return self.documents_from(item, position, int(command.get("batchSize") or 1 << 30), "nextBatch")
        return item.replies[position]

    def cmd_killcursors(self, db, command, sequences) -> Dict[str, Any]:
        return {"cursorsKilled": command.get("cursors", []), "cursorsNotFound": [], "cursorsAlive": [],
                "cursorsUnknown": [], "ok": 1.0}  # fmt: skip

    # -- handshake and server facts -------------------------------------------------------------
    def cmd_hello(self, db, command, sequences) -> Dict[str, Any]:
        with self.lock:
            self.connections += 1
            connection = self.connections
        return {"helloOk": True, "isWritablePrimary": True, "ismaster": True, "maxBsonObjectSize": 16 << 20,
                "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
                "localTime": datetime.now(timezone.utc), "logicalSessionTimeoutMinutes": 30,
                "connectionId": connection, "minWireVersion": 0, "maxWireVersion": MAX_WIRE_VERSION,
                "readOnly": False, "ok": 1.0}  # fmt: skip

    cmd_ismaster = cmd_hello

    def cmd_buildinfo(self, db, command, sequences) -> Dict[str, Any]:
        text = ".".join(str(part) for part in VERSION)
        return {"version": text, "versionArray": [*VERSION, 0], "gitVersion": "fast-bench",
                "bits": 64, "maxBsonObjectSize": 16 << 20, "ok": 1.0}  # fmt: skip

    def cmd_ping(self, db, command, sequences) -> Dict[str, Any]:
        return {"ok": 1.0}

    cmd_endsessions = cmd_ping

    def cmd_serverstatus(self, db, command, sequences) -> Dict[str, Any]:
        with self.lock:
            inserted, commands = dict(self.inserted), dict(self.commands)
        uptime = (datetime.now(timezone.utc) - self.started).total_seconds()
        return {"host": "127.0.0.1", "version": ".".join(map(str, VERSION)), "uptime": uptime,
                "opcounters": {"insert": sum(inserted.values()), "query": commands.get("find", 0),
                               "getmore": commands.get("getMore", 0)},
                "fastBench": {"inserted": inserted, "commands": commands}, "ok": 1.0}  # fmt: skip

    # -- listings and counts --------------------------------------------------------------------
    def cmd_listdatabases(self, db, command, sequences) -> Dict[str, Any]:
        sizes = {name: 0 for name in self.databases()}
        for item in self.served.values():
            sizes[item.db] += item.size
        return {"databases": [{"name": name, "sizeOnDisk": size, "empty": False} for name, size in sizes.items()],
                "totalSize": sum(sizes.values()), "ok": 1.0}  # fmt: skip

    def cmd_listcollections(self, db, command, sequences) -> Dict[str, Any]:
        wanted = (command.get("filter") or {}).get("name")
        specs = []
        for item in self.served.values():
            if item.db != db or (wanted is not None and item.name != wanted):
                continue
            info = {"readOnly": False, "uuid": bson.Binary.from_uuid(uuid.uuid5(uuid.NAMESPACE_URL, item.ns))}
            specs.append({"name": item.name, "type": "collection", "options": {}, "info": info,
                          "idIndex": {"v": 2, "key": {"_id": 1}, "name": "_id_"}})  # fmt: skip
        return cursor_reply(f"{db}.$cmd.listCollections", "firstBatch", specs, 0)

    def _item(self, db: str, name: Any) -> Optional[Served]:
        return self.served.get((db, str(name)))

    def cmd_listindexes(self, db, command, sequences) -> Dict[str, Any]:
        if self._item(db, command["listIndexes"]) is None:
            return error(26, "NamespaceNotFound", f"ns does not exist: {db}.{command['listIndexes']}")
        indexes = [SON([("v", 2), ("key", {"_id": 1}), ("name", "_id_")]),
                   SON([("v", 2), ("key", {"n": -1}), ("name", "n_-1")])]  # fmt: skip
        return cursor_reply(f"{db}.{command['listIndexes']}", "firstBatch", indexes, 0)

    def cmd_count(self, db, command, sequences) -> Dict[str, Any]:
        if command.get("query"):
            return error(2, "BadValue", "the fast benchmark server counts only without a query")
        item = self._item(db, command["count"])
        return {"n": item.count if item else 0, "ok": 1.0}

    def cmd_collstats(self, db, command, sequences) -> Dict[str, Any]:
        item = self._item(db, command["collStats"])
        count, size = (item.count, item.size) if item else (0, 0)
        return {"ns": f"{db}.{command['collStats']}", "count": count, "size": size,
                "avgObjSize": size // count if count else 0, "storageSize": size, "nindexes": 2, "ok": 1.0}  # fmt: skip

    def cmd_datasize(self, db, command, sequences) -> Dict[str, Any]:
        item_db, _unused, name = str(command["dataSize"]).partition(".")
        item = self._item(item_db, name)
        return {
            "size": item.size if item else 0,
            "numObjects": item.count if item else 0,
            "millis": 0,
            "ok": 1.0,
        }

    # -- writes: counted, not stored ------------------------------------------------------------
    def cmd_insert(self, db, command, sequences) -> Dict[str, Any]:
        count = sequences.get("documents", len(command.get("documents", [])))
        ns = f"{db}.{command['insert']}"
        with self.lock:
            self.inserted[ns] = self.inserted.get(ns, 0) + count
        return {"n": count, "ok": 1.0}

    def cmd_create(self, db, command, sequences) -> Dict[str, Any]:
        return {"ok": 1.0}

    cmd_drop = cmd_dropdatabase = cmd_create

    def cmd_createindexes(self, db, command, sequences) -> Dict[str, Any]:
        return {"numIndexesBefore": 1, "numIndexesAfter": 1 + len(command.get("indexes", [])),
                "createdCollectionAutomatically": False, "ok": 1.0}  # fmt: skip


def receive(sock: socket.socket, size: int) -> Optional[memoryview]:
    """Exactly ``size`` bytes, or None when the peer closed first."""
    buffer = bytearray(size)
    view = memoryview(buffer)
    got = 0
    while got < size:
        n = sock.recv_into(view[got:])
        if not n:
            return None
        got += n
    return view


def legacy_reply(reply: Dict[str, Any]) -> Tuple[int, bytes]:
    """An OP_REPLY body: flags, cursor id 0, starting from 0, one document."""
    return OP_REPLY, struct.pack("<iqii", 0, 0, 0, 1) + bson.encode(reply)


class Handler(socketserver.BaseRequestHandler):
    """One client connection: read a message, answer it, until the client hangs up."""

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        app: FastMongo = self.server.app  # type: ignore[attr-defined]
        reply_id = 0
        while True:
            header = receive(sock, HEADER.size)
            if header is None:
                return
            length, request_id, _to, opcode = HEADER.unpack(header)
            body = receive(sock, length - HEADER.size)
            if body is None:
                return
            if opcode == OP_MSG:
                flags, command, sequences = parse_msg(body)
                reply = app.answer(command, sequences)
                if flags & MORE_TO_COME:
                    continue
                reply_opcode = OP_MSG
            elif opcode == OP_QUERY:  # the legacy isMaster handshake
                name_end = bytes(body[4:]).index(b"\x00") + 4
                command = bson.decode(bytes(body[name_end + 9 :]))
                handler = app.cmd_hello if next(iter(command), "").lower() in ("ismaster", "hello") else None
                answer = (
                    handler("admin", command, {})
                    if handler
                    else error(352, "UnsupportedOpQueryCommand", "use OP_MSG")
                )
                reply_opcode, reply = legacy_reply(answer)
            else:
                return
            reply_id += 1
            head = HEADER.pack(HEADER.size + len(reply), reply_id, request_id, reply_opcode)
            if len(reply) < 1 << 16:
                sock.sendall(head + reply)
            else:
                sock.sendall(head)
                sock.sendall(reply)


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def parse_range(text: str) -> Tuple[int, int]:
    low, _unused, high = text.partition("-")
    return int(low), int(high or low)


@contextlib.contextmanager
def fast_server(workdir: Path, mib: int, *options: str, timeout: float = 600.0) -> Iterator[Tuple[str, int]]:
    """Start the server on a free loopback port; yields (URI, PID) once it is ready, stops it by PID."""
    port = free_port()
    log = workdir / f"fast-server-{port}.log"
    argv = [sys.executable, str(Path(__file__).resolve()), "--port", str(port), "--mib", str(mib), *options]
    server = ServerProcess(argv, port, log)
    try:
        deadline = time.monotonic() + timeout
        while "ready:" not in log.read_text(errors="replace"):
            if server.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the fast server did not get ready: {log.read_text(errors='replace')[-2000:]}"
                )
            time.sleep(0.1)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true", server.pid
    finally:
        server.stop()


def main(argv: Optional[List[str]] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="TCP port on 127.0.0.1")
    parser.add_argument("--mib", type=int, default=64, help="data set size in MiB of BSON")
    parser.add_argument("--databases", default="bench_a,bench_b", help="comma-separated database names")
    parser.add_argument(
        "--large", type=int, default=3, help="large collections per database (3/4 of its bytes)"
    )
    parser.add_argument(
        "--small", type=int, default=30, help="small collections per database (1/4 of its bytes)"
    )
    parser.add_argument(
        "--large-docs", default="200-4000", help="pad bytes of large-collection documents, LOW-HIGH"
    )
    parser.add_argument(
        "--small-docs", default="50-600", help="pad bytes of small-collection documents, LOW-HIGH"
    )
    parser.add_argument("--batch-mib", type=int, default=16, help="getMore batch size in MiB")
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args(argv)
    layout = Layout(
        total_bytes=args.mib << 20,
        databases=tuple(args.databases.split(",")),
        large=args.large,
        small=args.small,
        large_docs=parse_range(args.large_docs),
        small_docs=parse_range(args.small_docs),
        seed=args.seed,
    )
    server = Server(
        ("127.0.0.1", args.port), Handler, bind_and_activate=True
    )  # listens now, answers when ready
    served = build(layout, (args.batch_mib << 20) - (16 << 10))
    server.app = FastMongo(served)  # type: ignore[attr-defined]
    count, size = sum(i.count for i in served.values()), sum(i.size for i in served.values())
    print(f"ready: {len(served)} collections, {count} documents, {size} bytes", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever(poll_interval=0.5)


if __name__ == "__main__":
    main()
