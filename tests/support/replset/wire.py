"""MongoDB wire protocol framing: OP_MSG and the legacy OP_QUERY in, OP_MSG and OP_REPLY out.

Layouts from the manual's "MongoDB Wire Protocol" page: a 16-byte header (messageLength,
requestID, responseTo, opCode), OP_MSG = flagBits, sections (kind 0: one body document; kind 1:
size, identifier, document sequence), optional CRC-32C; OP_QUERY = flags, fullCollectionName,
numberToSkip, numberToReturn, query. Documents are encoded and decoded by ``bson`` (pymongo);
only the fixed-width integers around them are packed here.
"""

from __future__ import annotations

import itertools
import socket
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

import bson
from bson.codec_options import CodecOptions, DatetimeConversion
from bson.raw_bson import RawBSONDocument

OP_REPLY, OP_QUERY, OP_MSG = 1, 2004, 2013
MSG_CHECKSUM_PRESENT, MSG_MORE_TO_COME = 1, 2
QUERY_SECONDARY_OK = 4
HEADER = struct.Struct("<iiii")
MAX_MESSAGE = 48_000_000

# Decoded documents keep BSON types that Python has no native type for (Int64, Timestamp,
# Binary subtypes, Decimal128, Regex), so re-encoding gives back the same BSON.
CODEC = CodecOptions(document_class=dict, datetime_conversion=DatetimeConversion.DATETIME_AUTO)
_request_ids = itertools.count(1)


class ConnectionClosed(Exception):
    """The peer closed the socket, or sent something that is not a message we read."""


@dataclass
class Request:
    """One command as received: the decoded body, raw documents of kind-1 sections, how it came."""

    request_id: int
    op_code: int
    command: Dict[str, Any]
    sequences: Dict[str, List[RawBSONDocument]] = field(default_factory=dict)
    more_to_come: bool = False
    secondary_ok: bool = False  # OP_QUERY's SecondaryOk flag
    legacy_db: Optional[str] = None  # an OP_QUERY's "<db>.<collection>", split
    legacy_collection: Optional[str] = None

    @property
    def name(self) -> str:
        return next(iter(self.command), "")

    @property
    def db(self) -> str:
        return self.legacy_db if self.legacy_db is not None else str(self.command.get("$db", ""))


def _recv_exactly(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise ConnectionClosed("peer closed the connection")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _cstring(data: bytes, offset: int) -> tuple:
    end = data.index(b"\x00", offset)
    return data[offset:end].decode("utf-8"), end + 1


def read_request(sock: socket.socket) -> Request:
    """Read one message; raise ConnectionClosed on EOF or on an opcode this server does not speak."""
    length, request_id, _unused, op_code = HEADER.unpack(_recv_exactly(sock, HEADER.size))
    if not HEADER.size < length <= MAX_MESSAGE:
        raise ConnectionClosed(f"bad message length {length}")
    data = _recv_exactly(sock, length - HEADER.size)
    if op_code == OP_MSG:
        return _parse_msg(request_id, data)
    if op_code == OP_QUERY:
        return _parse_query(request_id, data)
    # Servers since 6.0 close the connection on the removed legacy opcodes (manual, "Legacy Opcodes").
    raise ConnectionClosed(f"unsupported opcode {op_code}")


def _parse_msg(request_id: int, data: bytes) -> Request:
    (flags,) = struct.unpack_from("<I", data)
    end = len(data) - (4 if flags & MSG_CHECKSUM_PRESENT else 0)
    offset, body, sequences = 4, None, {}
    while offset < end:
        kind = data[offset]
        offset += 1
        if kind == 0:
            (size,) = struct.unpack_from("<i", data, offset)
            body = bson.decode(data[offset : offset + size], CODEC)
            offset += size
        elif kind == 1:
            (size,) = struct.unpack_from("<i", data, offset)
            stop = offset + size
            identifier, position = _cstring(data, offset + 4)
            docs = []
            while position < stop:
                (doc_size,) = struct.unpack_from("<i", data, position)
                docs.append(RawBSONDocument(data[position : position + doc_size]))
                position += doc_size
            sequences[identifier] = docs
            offset = stop
        else:
            raise ConnectionClosed(f"unknown OP_MSG section kind {kind}")
    if body is None:
        raise ConnectionClosed("OP_MSG without a body section")
    return Request(request_id, OP_MSG, body, sequences, more_to_come=bool(flags & MSG_MORE_TO_COME))


def _parse_query(request_id: int, data: bytes) -> Request:
    (flags,) = struct.unpack_from("<i", data)
    collection, offset = _cstring(data, 4)
    offset += 8  # numberToSkip, numberToReturn
    (size,) = struct.unpack_from("<i", data, offset)
    query = bson.decode(data[offset : offset + size], CODEC)
    if "$query" in query:  # the wrapped form: {$query: {...}, $readPreference: {...}}
        query = query["$query"]
    db, _unused, coll = collection.partition(".")
    return Request(
        request_id,
        OP_QUERY,
        query,
        secondary_ok=bool(flags & QUERY_SECONDARY_OK),
        legacy_db=db,
        legacy_collection=coll,
    )


def encode_reply(request: Request, reply: Dict[str, Any]) -> bytes:
    """The reply message for ``request``: OP_MSG for OP_MSG, OP_REPLY for OP_QUERY."""
    doc = bson.encode(reply)
    if request.op_code == OP_MSG:
        payload = struct.pack("<I", 0) + b"\x00" + doc
        op_code = OP_MSG
    else:
        payload = struct.pack("<iqii", 0, 0, 0, 1) + doc
        op_code = OP_REPLY
    header = HEADER.pack(HEADER.size + len(payload), next(_request_ids), request.request_id, op_code)
    return header + payload


def plain(value: Any) -> Any:
    """A document from an OP_MSG document sequence (raw) as a decoded dict; other values unchanged."""
    return bson.decode(value.raw, CODEC) if isinstance(value, RawBSONDocument) else value
