"""The servers the MongoDB benchmarks run against, each holding the data set of ``bench/dataset.py``.

``OFFSITE_BENCH_SERVERS`` (default ``fast,nx``) picks them:
  fast  ``bench/fast_server.py`` (pre-encoded replies in memory; writes only counted), so the engine's own
        cost shows. Size ``OFFSITE_BENCH_FAST_MB`` (default 256).
  nx    nx-27017 on loopback (or ``OFFSITE_TEST_MONGODB_URI``), filled here with inserts. Size
        ``OFFSITE_BENCH_ARCHIVE_MB`` (default 64).
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Iterator, List, Optional, Tuple

import pymongo
from bson.raw_bson import RawBSONDocument

from bench.dataset import DATABASES, Layout
from bench.dataset import generate as dataset
from bench.fast_server import fast_server
from bench.measure import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from support import servers

# The tests' launchers: nx-27017 / moto on loopback, stopped by PID, or the real servers from the environment.
mongo_server = contextlib.contextmanager(servers.mongo_server)
s3_endpoint = contextlib.contextmanager(servers.s3_endpoint)
INSERT_BATCH = 4 << 20
__all__ = ["DATABASES", "generate", "mongo_server", "s3_endpoint", "served", "server_kinds"]


def server_kinds() -> List[str]:
    """The servers ``OFFSITE_BENCH_SERVERS`` names, in order; an unknown name stops the run."""
    kinds = [
        kind.strip() for kind in os.environ.get("OFFSITE_BENCH_SERVERS", "fast,nx").split(",") if kind.strip()
    ]
    unknown = sorted(set(kinds) - {"fast", "nx"})
    if unknown:
        raise SystemExit(f"OFFSITE_BENCH_SERVERS names unknown servers {unknown}: use fast, nx or both")
    return kinds


def generate(client, total_bytes: int) -> int:
    """Fill the two databases of a real (or nx-27017) server with the data set; returns the BSON bytes."""
    written = 0
    for db in DATABASES:
        client.drop_database(db)
    for db, name, docs in dataset(Layout(total_bytes)):
        batch, size = [], 0
        for doc in docs:
            batch.append(RawBSONDocument(doc))
            size += len(doc)
            written += len(doc)
            if size > INSERT_BATCH:
                client[db][name].insert_many(batch, ordered=False)
                batch, size = [], 0
        if batch:
            client[db][name].insert_many(batch, ordered=False)
    return written


@contextlib.contextmanager
def served(kind: str, workdir: Path) -> Iterator[Tuple[str, str, Optional[int], int]]:
    """(label, URI, server PID, data bytes) of a server holding the data set."""
    if kind == "fast":
        size_mb = int(os.environ.get("OFFSITE_BENCH_FAST_MB", "256"))
        with fast_server(workdir, size_mb) as (uri, pid):
            data = sum(size for _db, _name, size in _collection_sizes(uri))
            yield "fast in-memory server", uri, pid, data
        return
    size_mb = int(os.environ.get("OFFSITE_BENCH_ARCHIVE_MB", "64"))
    with mongo_server(workdir) as server:
        client = pymongo.MongoClient(server.uri)
        start = time.perf_counter()
        data = generate(client, size_mb << 20)
        print(f"(nx-27017 filled in {time.perf_counter() - start:.0f} s)")
        try:
            yield ("real MongoDB" if server.real else "nx-27017"), server.uri, server.pid, data
        finally:
            for name in client.list_database_names():
                if name.startswith(("bench_", "raw_bench_", "restored_")):
                    client.drop_database(name)


def _collection_sizes(uri: str):
    client = pymongo.MongoClient(uri)
    for db in DATABASES:
        for name in client[db].list_collection_names():
            yield db, name, client[db].command("collStats", name)["size"]
