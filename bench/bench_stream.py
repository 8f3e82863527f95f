"""Streaming dump-to-S3 against its two stages run alone, measured in one run.

Stage 1: native dump to a local file. Stage 2: upload of that file into the catalog.
Streamed: the dump written straight into the catalog's multipart upload (no local file).
The streamed run should take about as long as the slower stage (the stages overlap instead of
adding up), with bounded memory and nothing written to local disk (``/proc/self/io`` write_bytes).

Dataset size: ``OFFSITE_BENCH_STREAM_MB`` (default 64); compression ``OFFSITE_BENCH_STREAM_COMPRESSION``
(default zstd). MongoDB: nx-27017 on loopback (or ``OFFSITE_TEST_MONGODB_URI``); S3: a moto server on
loopback (or ``OFFSITE_TEST_S3_ENDPOINT`` with ``OFFSITE_TEST_S3_ACCESS_KEY``/``_SECRET_KEY``).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pymongo

from bench.bench_archive import DATABASES, ROOT, generate, mongo_server, s3_endpoint


def disk_writes() -> int:
    """Bytes this process caused to be written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def worker(argv) -> None:
    """Child process (own peak RSS and disk counters): ``worker KIND CONFIG_JSON``."""
    from ansible_collections.offsite.mongodb.plugins.module_utils import dump  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import put_backup  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (  # noqa: PLC0415
        catalog_from_options,
    )
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan  # noqa: PLC0415

    kind, config = argv[0], json.loads(argv[1])
    plan = DumpPlan(databases=list(DATABASES), compression=config["compression"])
    catalog = catalog_from_options(config["s3"])
    before = disk_writes()
    start = time.perf_counter()
    if kind == "file":
        client = pymongo.MongoClient(config["uri"])
        with open(config["path"], "wb") as sink:
            dump.dump_archive(client, sink, plan)
            sink.flush()
            os.fsync(sink.fileno())
    elif kind == "upload":
        put_backup(catalog, "bench-upload", config["path"], f"20260101T000000Z-{uuid.uuid4().hex[:6]}")
    elif kind == "stream":
        dump_to_catalog(lambda: pymongo.MongoClient(config["uri"]), catalog, "bench-stream", plan)
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "peak_mib": peak_mib, "disk_bytes": disk_writes() - before}))


def run(kind: str, config: dict) -> dict:
    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_stream", "worker", kind, json.dumps(config)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(completed.stdout.strip().splitlines()[-1])


def main() -> None:
    size_mb = int(os.environ.get("OFFSITE_BENCH_STREAM_MB", "64"))
    compression = os.environ.get("OFFSITE_BENCH_STREAM_COMPRESSION", "zstd")
    with (
        tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp,
        mongo_server(Path(tmp)) as mongo,
        s3_endpoint(Path(tmp)) as endpoint,
    ):
        workdir = Path(tmp)
        bucket = f"bench-stream-{uuid.uuid4().hex[:10]}"
        endpoint.client().create_bucket(Bucket=bucket)
        written = generate(pymongo.MongoClient(mongo.uri), size_mb << 20)
        print(f"dataset: {written / 2**20:.0f} MiB BSON; compression {compression}")
        s3 = {"bucket": bucket, "endpoint_url": endpoint.endpoint_url, "access_key": endpoint.access_key,
              "secret_key": endpoint.secret_key, "region": endpoint.region, "prefix": "bench"}  # fmt: skip
        config = {
            "uri": mongo.uri,
            "compression": compression,
            "path": str(workdir / "dump.archive"),
            "s3": s3,
        }
        to_file = run("file", config)
        upload = run("upload", config)
        stream = run("stream", config)
        slower = max(to_file["seconds"], upload["seconds"])
        for name, result in (("dump to file", to_file), ("upload file", upload), ("streamed", stream)):
            print(f"{name:12}: {result['seconds']:6.1f} s, peak RSS {result['peak_mib']:4.0f} MiB, "
                  f"local disk written {result['disk_bytes'] / 2**20:7.1f} MiB")  # fmt: skip
        print(f"streamed / slower stage: {stream['seconds'] / slower:.2f} (aim <= 1.15); "
              f"streamed / sum of stages: {stream['seconds'] / (to_file['seconds'] + upload['seconds']):.2f}")  # fmt: skip


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
