"""S3 transfers: the catalog's put/get against boto3's upload_file/download_file defaults, same endpoint, same run.

Size: OFFSITE_BENCH_S3_MIB (default 256; the issue's figure is 1024). Endpoint: a moto server started here on
loopback, or OFFSITE_TEST_S3_ENDPOINT (+ _ACCESS_KEY/_SECRET_KEY/_REGION) when set.
Ratios > 1.0 mean the catalog is faster than the boto3 baseline.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / ".cache" / "collections", ROOT / "tests"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import bson  # noqa: E402
from bson import Binary  # noqa: E402
from support import servers  # noqa: E402

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import (  # noqa: E402
    delete_backup,
    delete_set,
    get_backup,
    put_backup,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (  # noqa: E402
    ArchiveHeader,
    PreludeEntry,
    metadata_json,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_writer import ArchiveWriter  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog  # noqa: E402
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import make_client, s3_options  # noqa: E402

MiB = 1024 * 1024


def _endpoint(workdir: Path):
    """The tests' moto launcher (or the real endpoint from the environment)."""
    return servers.s3_endpoint(workdir)


def _timed(label: str, func) -> float:
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    print(f"  {label:<34} {seconds:8.2f} s", flush=True)
    return seconds


def _make_archive(path: Path, size: int) -> None:
    """A real, uncompressed mongodump archive of about ``size`` bytes (the catalog refuses anything else)."""
    block = os.urandom(4 * MiB)
    entry = PreludeEntry("bench", "data", metadata_json({"indexes": []}), "collection")
    with open(path, "wb") as handle:
        writer = ArchiveWriter(handle)
        writer.write_prelude(ArchiveHeader("7.0.12", "bench"), [entry])
        stream = writer.namespace("bench", "data")
        for number in range(max(1, size // len(block))):
            stream.write(bson.encode({"_id": number, "payload": Binary(block)}))
        stream.close()
        writer.finish()


def main() -> None:
    size = int(os.environ.get("OFFSITE_BENCH_S3_MIB", "256")) * MiB
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        work = Path(tmp)
        endpoint_gen = _endpoint(work)
        endpoint = next(endpoint_gen)
        try:
            _run(endpoint, work, size)
        finally:
            endpoint_gen.close()


def _run(endpoint, work: Path, size: int) -> None:
    src = work / "archive.bin"
    _make_archive(src, size)
    baseline_client = endpoint.client()
    bucket = f"offsite-bench-{uuid.uuid4().hex[:12]}"
    baseline_client.create_bucket(Bucket=bucket)
    options = s3_options(
        {
            "endpoint_url": endpoint.endpoint_url,
            "access_key": endpoint.access_key,
            "secret_key": endpoint.secret_key,
            "region": endpoint.region,
        }
    )
    concurrency = int(os.environ.get("OFFSITE_BENCH_S3_CONCURRENCY", "8"))
    catalog = Catalog(make_client(options, concurrency + 2), bucket, "bench", max_concurrency=concurrency)
    print(f"  size {size // MiB} MiB, endpoint {endpoint.endpoint_url}, catalog concurrency {concurrency}")

    rounds = int(os.environ.get("OFFSITE_BENCH_S3_ROUNDS", "3"))
    base_dest, ours_dest = work / "baseline.out", work / "ours.out"
    times = {"base_up": [], "ours_up": [], "base_down": [], "ours_down": []}
    for round_number in range(1, rounds + 1):
        print(f"  round {round_number}/{rounds}", flush=True)
        backup_id = f"20260101T00000{round_number % 10}Z"
        times["base_up"].append(
            _timed(
                "boto3 upload_file (defaults)",
                lambda: baseline_client.upload_file(str(src), bucket, "baseline"),
            )
        )
        times["ours_up"].append(
            _timed(
                "catalog put (checked, sha256)",
                lambda b=backup_id: put_backup(catalog, "bench", str(src), b),
            )
        )
        times["base_down"].append(
            _timed(
                "boto3 download_file (defaults)",
                lambda: baseline_client.download_file(bucket, "baseline", str(base_dest)),
            )
        )
        times["ours_down"].append(
            _timed(
                "catalog get (sha256 verified)",
                lambda b=backup_id: get_backup(catalog, "bench", str(ours_dest), b),
            )
        )
        ours_dest.unlink()
        delete_backup(catalog, "bench", backup_id)  # keep the server's memory flat between rounds
    base_up, ours_up = min(times["base_up"]), min(times["ours_up"])
    base_down, ours_down = min(times["base_down"]), min(times["ours_down"])
    print("  best of each:")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    mib_s = size / MiB
    print(
        f"  upload   ratio {base_up / ours_up:5.2f}  ({mib_s / base_up:7.1f} vs {mib_s / ours_up:7.1f} MiB/s)"
    )
    print(
        f"  download ratio {base_down / ours_down:5.2f}  ({mib_s / base_down:7.1f} vs {mib_s / ours_down:7.1f} MiB/s)"
    )
    print(f"  peak RSS of this process {peak} MiB (both sides together)")
    delete_set(catalog, "bench", True)
    baseline_client.delete_object(Bucket=bucket, Key="baseline")
    baseline_client.delete_bucket(Bucket=bucket)


if __name__ == "__main__":
    main()
