"""Corrupt and truncated archives restored into nx-27017: a clear "corrupt"/"truncated" error, nothing written.

Archives of each compression are made once by ``mongo_dump_archive``. Two kinds of damage:

* payload damage: a byte of the *uncompressed* archive flipped, or the archive cut, at a named
  place (magic header, prelude metadata JSON, first document, middle, the namespace EOF/CRC block,
  last byte), then compressed again - the compressed stream is valid, the archive inside is not;
* stream damage: a byte of the compressed file flipped, or the file cut, at spread offsets.

Most cases go through the engine's ``restore_from_file`` in this process (fast); a batch goes
through ``mongo_restore_archive`` in one ``ansible-playbook`` run. No case passes a SHA-256: the
archive's own structure and CRCs must catch the damage, and the target must hold nothing.
"""

from __future__ import annotations

import io
import re
import sys
from dataclasses import dataclass
from typing import Callable, Dict, List, Tuple

import pymongo
import pytest
import yaml
from support.ansible_runner import run_module
from support.catalog_checks import assert_one_line
from support.playbook_runner import run_playbook_file

from ansible_collections.offsite.mongodb.plugins.module_utils import compression
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.restore import restore_from_file
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan

SOURCE = "corrupt_src"
KINDS = ("gzip", "zstd", "none")
SERVER_ERRORS = re.compile(
    r"E11000|duplicate key|OperationFailure|InvalidBSON|BSONError|pymongo|server", re.I
)
NAMED = re.compile(rf"(offset|byte) \d+|{SOURCE}\.")


def _find(data: bytes, needle: bytes, start: int = 0, last: bool = False) -> int:
    where = data.rfind(needle) if last else data.find(needle, start)
    assert where >= 0, f"{needle!r} not in the archive"
    return where


# Where to damage the uncompressed archive: name -> offset in the raw archive bytes.
PLACES: Dict[str, Callable[[bytes], int]] = {
    "magic-header": lambda raw: 1,
    "prelude-metadata-json": lambda raw: _find(raw, b'"indexes"') + 3,
    "first-document": lambda raw: _find(raw, b"\x10_id\x00", _find(raw, b"\xff\xff\xff\xff")) + 5,
    "middle": lambda raw: len(raw) // 2,
    "eof-crc-block": lambda raw: _find(raw, b"CRC\x00", last=True) + 6,
    "last-byte": lambda raw: len(raw) - 1,
}
# Where to cut it: keep this many bytes.
CUTS: Dict[str, Callable[[bytes], int]] = {
    "in-magic": lambda raw: 2,
    "in-prelude": lambda raw: _find(raw, b'"indexes"'),
    "in-first-block": lambda raw: _find(raw, b"\x10_id\x00", _find(raw, b"\xff\xff\xff\xff")) + 20,
    "before-eof-blocks": lambda raw: _find(raw, b"EOF\x00", last=True) - 40,
    "last-byte-missing": lambda raw: len(raw) - 1,
}
# Where to damage the compressed file: fractions of its length (and the trailer).
STREAM_FLIPS: Dict[str, Callable[[bytes], int]] = {
    # gzip: the FLG byte (its MTIME bytes are not covered by any check); zstd: the frame header descriptor
    "frame-header": lambda data: 3 if data[:2] == b"\x1f\x8b" else 4,
    "quarter": lambda data: len(data) // 4,
    "half": lambda data: len(data) // 2,
    "three-quarters": lambda data: 3 * len(data) // 4,
    "trailer": lambda data: len(data) - 3,
}
STREAM_CUTS: Dict[str, Callable[[bytes], int]] = {
    "half": lambda data: len(data) // 2,
    "trailer-missing": lambda data: len(data) - 4,
}


@dataclass(frozen=True)
class Damage:
    id: str
    kind: str
    make: Callable[[Dict[str, Tuple[bytes, bytes]]], bytes]  # {kind: (raw, file)} -> damaged file bytes


def compress(raw: bytes, kind: str) -> bytes:
    sink = io.BytesIO()
    writer = compression.compressing_writer(sink, kind)
    writer.write(raw)
    writer.finish()
    return sink.getvalue()


def flip(data: bytes, offset: int) -> bytes:
    return data[:offset] + bytes([data[offset] ^ 0xFF]) + data[offset + 1 :]


def _payload_flip(kind: str, place: str) -> Callable:
    return lambda archives: compress(flip(archives[kind][0], PLACES[place](archives[kind][0])), kind)


def _payload_cut(kind: str, cut: str) -> Callable:
    return lambda archives: compress(archives[kind][0][: CUTS[cut](archives[kind][0])], kind)


def _stream_flip(kind: str, place: str) -> Callable:
    return lambda archives: flip(archives[kind][1], STREAM_FLIPS[place](archives[kind][1]))


def _stream_cut(kind: str, cut: str) -> Callable:
    return lambda archives: archives[kind][1][: STREAM_CUTS[cut](archives[kind][1])]


DAMAGES: List[Damage] = (
    [Damage(f"{kind}-flip-{place}", kind, _payload_flip(kind, place)) for kind in KINDS for place in PLACES]
    + [Damage(f"{kind}-cut-{cut}", kind, _payload_cut(kind, cut)) for kind in KINDS for cut in CUTS]
    + [
        Damage(f"{kind}-stream-flip-{place}", kind, _stream_flip(kind, place))
        for kind in ("gzip", "zstd")
        for place in STREAM_FLIPS
    ]
    + [
        Damage(f"{kind}-stream-cut-{cut}", kind, _stream_cut(kind, cut))
        for kind in ("gzip", "zstd")
        for cut in STREAM_CUTS
    ]
)
THROUGH_THE_MODULE = [
    "gzip-flip-first-document",
    "zstd-flip-eof-crc-block",
    "none-flip-middle",
    "none-cut-before-eof-blocks",
    "gzip-stream-cut-half",
    "zstd-stream-flip-half",
]


@pytest.fixture(scope="module")
def archives(mongo_server, tmp_path_factory) -> Dict[str, Tuple[bytes, bytes]]:
    """{compression: (uncompressed archive, archive file)} of two collections (made by the module)."""
    if mongo_server.real:
        pytest.skip("the corruption suite fills and inspects the stand-in's databases")
    client = pymongo.MongoClient(mongo_server.uri)
    client.drop_database(SOURCE)
    client[SOURCE]["orders"].insert_many([{"_id": i, "n": i, "s": "x" * (i % 50)} for i in range(600)])
    client[SOURCE]["orders"].create_index("n")
    client[SOURCE]["people"].insert_many([{"_id": i, "name": f"p{i}"} for i in range(200)])
    folder = tmp_path_factory.mktemp("archives")
    made = {}
    for kind in KINDS:
        path = folder / f"a.{kind}"
        result = run_module(
            "mongo_dump_archive",
            {"uri": mongo_server.uri, "dest": str(path), "compression": kind, "databases": [SOURCE]},
        )
        assert result.get("failed") is not True, result.get("msg")
        data = path.read_bytes()
        stream, _unused = compression.decompressing_reader(io.BytesIO(data))
        made[kind] = (stream.read(), data)
    client.drop_database(SOURCE)
    client.close()
    return made


def target_db(damage_id: str) -> str:
    return "cr_" + re.sub(r"[^a-z0-9]", "_", damage_id)[:50]


def assert_target_empty(client, database: str) -> None:
    assert database not in client.list_database_names(), (
        f"the restore of a damaged archive left {database}: {client[database].list_collection_names()}"
    )


def assert_clear_error(message: str) -> None:
    assert_one_line(message)
    assert re.search(r"corrupt|truncated", message, re.I), (
        f"the error does not say corrupt/truncated: {message}"
    )
    assert NAMED.search(message), f"the error names neither a namespace nor an offset: {message}"
    assert not SERVER_ERRORS.search(message), f"a server error instead of an archive error: {message}"


def test_the_undamaged_archives_restore(archives, mongo_server, tmp_path):
    """The control: every kind restores whole, so the damage is what fails the other cases."""
    with pymongo.MongoClient(mongo_server.uri) as client:
        for kind, (_unused, data) in archives.items():
            path = tmp_path / f"ok.{kind}"
            path.write_bytes(data)
            database = target_db(f"ok-{kind}")
            plan = RestorePlan(ns_from=[f"{SOURCE}.*"], ns_to=[f"{database}.*"])
            restore_from_file(lambda: pymongo.MongoClient(mongo_server.uri), str(path), plan)
            assert client[database]["orders"].count_documents({}) == 600
            assert client[database]["people"].count_documents({}) == 200
            client.drop_database(database)


@pytest.mark.parametrize("damage", DAMAGES, ids=lambda damage: damage.id)
def test_damaged_archive_through_the_engine(damage, archives, mongo_server, tmp_path):
    path = tmp_path / "damaged"
    path.write_bytes(damage.make(archives))
    database = target_db(damage.id)
    plan = RestorePlan(ns_from=[f"{SOURCE}.*"], ns_to=[f"{database}.*"])
    message = ""
    with pymongo.MongoClient(mongo_server.uri) as client:
        try:
            restore_from_file(lambda: pymongo.MongoClient(mongo_server.uri), str(path), plan)
        except OffsiteError as error:
            message = str(error)
        except Exception as error:
            pytest.fail(f"the damage crashed the restore with {type(error).__name__}: {error}")
        else:
            pytest.fail("the damaged archive restored without an error")
        try:
            assert_clear_error(message)
            assert_target_empty(client, database)
        finally:
            client.drop_database(database)


@pytest.fixture(scope="module")
def module_results(archives, mongo_server, tmp_path_factory) -> Dict[str, Dict]:
    """The ``THROUGH_THE_MODULE`` cases as tasks of one ``ansible-playbook`` run."""
    folder = tmp_path_factory.mktemp("module-cases")
    damages = {damage.id: damage for damage in DAMAGES}
    tasks = []
    for damage_id in THROUGH_THE_MODULE:
        path = folder / damage_id
        path.write_bytes(damages[damage_id].make(archives))
        args = {
            "uri": mongo_server.uri,
            "src": str(path),
            "ns_from": [f"{SOURCE}.*"],
            "ns_to": [f"{target_db('module-' + damage_id)}.*"],
        }
        tasks.append(
            {
                "name": f"case {damage_id}",
                "offsite.mongodb.mongo_restore_archive": args,
                "ignore_errors": True,
            }
        )
    playbook = folder / "restore.yml"
    playbook.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    inventory = folder / "hosts.yml"
    inventory.write_text(
        yaml.safe_dump(
            {
                "all": {
                    "hosts": {
                        "localhost": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                        }
                    }
                }
            }
        )
    )
    run = run_playbook_file(playbook, inventory)
    return {record["_task"][len("case ") :]: record for record in run.records}


@pytest.mark.parametrize("damage_id", THROUGH_THE_MODULE)
def test_damaged_archive_through_the_module(damage_id, module_results, mongo_server):
    result = module_results.get(damage_id)
    assert result is not None, f"case {damage_id} did not run"
    assert result["failed"], f"the damaged archive restored without an error: {result}"
    database = target_db("module-" + damage_id)
    with pymongo.MongoClient(mongo_server.uri) as client:
        try:
            assert_clear_error(str(result.get("msg", "")))
            assert_target_empty(client, database)
        finally:
            client.drop_database(database)


def test_every_place_lies_inside_the_archive(archives):
    """The offsets the cases damage exist in every kind's archive (guards the case table itself)."""
    for raw, data in archives.values():
        for place in PLACES.values():
            assert 0 <= place(raw) < len(raw)
        for cut in CUTS.values():
            assert 0 < cut(raw) < len(raw)
        assert len(data) > 0
