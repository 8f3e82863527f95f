"""S3 transfers: the engine's upload and download streams against boto3's upload_file/download_file defaults.

Same endpoint, same run, rounds interleaved (baseline, subject, baseline, subject, ...), median of each.
Size: OFFSITE_BENCH_S3_MIB (default 256; the issue's figure is 1024); rounds OFFSITE_BENCH_S3_ROUNDS (5).
Endpoint: a moto server started here on loopback, or OFFSITE_TEST_S3_ENDPOINT (+ _ACCESS_KEY/_SECRET_KEY/_REGION).

  upload    ``Catalog.open_upload`` (``UploadStream``: SHA-256, multipart) fed from the file as
            ``mode=put`` feeds it, then the manifest; against ``upload_file`` (TransferConfig defaults)
  download  ``Catalog.download_stream`` (ranged GETs, SHA-256 verified) into a file, as ``mode=get``
            writes it; against ``download_file``
Ratios > 1.0 mean the engine is faster than the boto3 baseline.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable, Dict, List

from support import servers

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (
    catalog_from_options,
)

MiB = 1024 * 1024
READ_BLOCK = 8 * MiB


def _make_file(path: Path, size: int) -> None:
    block = os.urandom(4 * MiB)
    with open(path, "wb") as handle:
        left = size
        while left > 0:
            handle.write(block[: min(left, len(block))])
            left -= len(block)


def _timed(label: str, func: Callable[[], None]) -> float:
    start = time.perf_counter()
    func()
    seconds = time.perf_counter() - start
    print(f"  {label:<40} {seconds:8.2f} s", flush=True)
    return seconds


def ratio_line(name: str, base: List[float], ours: List[float], size: int, aim: str) -> str:
    """One printed result: the median ratio with both medians (its baseline) and the spread."""
    b, o = statistics.median(base), statistics.median(ours)
    mib = size / MiB
    return (f"{name:8} ratio {b / o:5.2f} ({aim}): engine {mib / o:6.1f} MiB/s vs boto3 {mib / b:6.1f} MiB/s "
            f"(medians of {len(base)}; engine {min(ours):.2f}-{max(ours):.2f} s, boto3 {min(base):.2f}-{max(base):.2f} s)")  # fmt: skip


def main() -> None:
    size = int(os.environ.get("OFFSITE_BENCH_S3_MIB", "256")) * MiB
    rounds = int(os.environ.get("OFFSITE_BENCH_S3_ROUNDS", "5"))
    with tempfile.TemporaryDirectory(prefix="bench-s3-") as tmp:
        work = Path(tmp)
        with contextlib.contextmanager(servers.s3_endpoint)(work) as endpoint:
            run(endpoint, work, size, rounds)


def run(endpoint, work: Path, size: int, rounds: int) -> Dict[str, float]:
    src = work / "archive.bin"
    _make_file(src, size)
    baseline = endpoint.client()
    bucket = f"offsite-bench-{uuid.uuid4().hex[:12]}"
    baseline.create_bucket(Bucket=bucket)
    catalog = catalog_from_options({
        "bucket": bucket, "prefix": "bench", "endpoint_url": endpoint.endpoint_url, "access_key": endpoint.access_key,
        "secret_key": endpoint.secret_key, "region": endpoint.region,
    })  # fmt: skip
    print(f"  size {size // MiB} MiB, endpoint {endpoint.endpoint_url}, engine part size "
          f"{catalog.part_size // MiB} MiB x {catalog.max_concurrency}; load {os.getloadavg()[0]:.1f}")  # fmt: skip
    base_dest, ours_dest = work / "baseline.out", work / "ours.out"
    times: Dict[str, List[float]] = {"base_up": [], "ours_up": [], "base_down": [], "ours_down": []}

    def upload(backup_id: str) -> None:
        stream = catalog.open_upload("bench", backup_id, "none", size=size)
        with stream, open(src, "rb") as handle:
            block = stream.fixed or READ_BLOCK
            for chunk in iter(lambda: handle.read(block), b""):
                stream.write(chunk)
        catalog.commit("bench", backup_id, stream.result, compression="none")

    def download(backup_id: str) -> None:
        stream = catalog.download_stream(catalog.load_manifest("bench", backup_id))
        with open(ours_dest, "wb") as handle:
            for chunk in stream.iter_chunks():
                handle.write(chunk)
        assert stream.verified

    for number in range(1, rounds + 1):
        print(f"  round {number}/{rounds}", flush=True)
        backup_id = f"20260101T0000{number:02d}Z"
        times["base_up"].append(
            _timed("boto3 upload_file (defaults)", lambda: baseline.upload_file(str(src), bucket, "baseline"))
        )
        times["ours_up"].append(_timed("engine UploadStream + manifest", lambda b=backup_id: upload(b)))
        times["base_down"].append(
            _timed(
                "boto3 download_file (defaults)",
                lambda: baseline.download_file(bucket, "baseline", str(base_dest)),
            )
        )
        times["ours_down"].append(
            _timed("engine DownloadStream (sha256 verified)", lambda b=backup_id: download(b))
        )
        catalog.delete_backups(catalog.scan("bench", backup_id))  # keep the server's memory flat
    print(ratio_line("upload", times["base_up"], times["ours_up"], size, "aim >= 1.0"))
    print(ratio_line("download", times["base_down"], times["ours_down"], size, "aim >= 1.0"))
    baseline.delete_object(Bucket=bucket, Key="baseline")
    baseline.delete_bucket(Bucket=bucket)
    return {
        "upload": statistics.median(times["base_up"]) / statistics.median(times["ours_up"]),
        "download": statistics.median(times["base_down"]) / statistics.median(times["ours_down"]),
    }


if __name__ == "__main__":
    main()
