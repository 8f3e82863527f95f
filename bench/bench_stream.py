"""Streaming dump-to-S3 against its two stages run alone, on the fast server and on nx-27017, in one run.

Stage 1: native dump to a local file. Stage 2: upload of that file into the catalog (``UploadStream``).
Streamed: ``dump_to_catalog``, the dump written straight into the catalog's multipart upload (no local
file). The streamed run should take about as long as the slower stage (the stages overlap instead of
adding up: aim <= 1.15), with bounded memory and nothing written to local disk (``/proc/self/io``).
Each round runs the three in turn; the medians of ``OFFSITE_BENCH_STREAM_ROUNDS`` (3) rounds are compared.

Servers ``OFFSITE_BENCH_SERVERS`` (fast,nx); sizes ``OFFSITE_BENCH_FAST_MB`` (256) and
``OFFSITE_BENCH_ARCHIVE_MB`` (64, nx-27017), as ``bench_archive``; ``OFFSITE_BENCH_MEMORY_BUDGET_MIB``
overrides the dump budget; compression ``OFFSITE_BENCH_STREAM_COMPRESSION`` (gzip, the module default).
S3: a moto server on loopback (or ``OFFSITE_TEST_S3_ENDPOINT`` + credentials).
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List

import pymongo

from bench.data_servers import s3_endpoint, served, server_kinds
from bench.dataset import DATABASES
from bench.measure import ROOT


def disk_writes() -> int:
    """Bytes this process caused to be written to storage so far (Linux)."""
    for line in Path("/proc/self/io").read_text().splitlines():
        if line.startswith("write_bytes:"):
            return int(line.split()[1])
    return 0


def worker(argv) -> None:
    """Child process (own peak RSS and disk counters): ``worker KIND CONFIG_JSON``."""
    import resource  # noqa: PLC0415

    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_options import (  # noqa: PLC0415
        catalog_from_options,
    )
    from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive  # noqa: PLC0415
    from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan  # noqa: PLC0415

    kind, config = argv[0], json.loads(argv[1])
    plan = DumpPlan(databases=list(DATABASES), compression=config["compression"])
    if os.environ.get("OFFSITE_BENCH_MEMORY_BUDGET_MIB"):  # e.g. 100000: in effect no budget
        plan.memory_budget = int(os.environ["OFFSITE_BENCH_MEMORY_BUDGET_MIB"]) << 20
    catalog = catalog_from_options(config["s3"])
    backup_id = f"20260101T{config['round']:06d}Z"
    before = disk_writes()
    start = time.perf_counter()
    cpu = time.process_time()
    if kind == "file":
        client = pymongo.MongoClient(config["uri"])
        with open(config["path"], "wb") as sink:
            dump_archive(client, sink, plan)
            sink.flush()
            os.fsync(sink.fileno())
    elif kind == "upload":
        size = os.path.getsize(config["path"])
        stream = catalog.open_upload("bench-upload", backup_id, config["compression"], size=size)
        with stream, open(config["path"], "rb") as handle:
            for chunk in iter(lambda: handle.read(stream.fixed), b""):
                stream.write(chunk)
        catalog.commit("bench-upload", backup_id, stream.result, compression=config["compression"])
    elif kind == "stream":
        dump_to_catalog(
            lambda: pymongo.MongoClient(config["uri"]), catalog, "bench-stream", plan, backup_id=backup_id
        )
    seconds = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"seconds": seconds, "cpu": time.process_time() - cpu, "peak_mib": peak_mib,
                      "disk_bytes": disk_writes() - before}))  # fmt: skip


def run(kind: str, config: dict) -> dict:
    import subprocess  # noqa: PLC0415

    completed = subprocess.run(
        [sys.executable, "-m", "bench.bench_stream", "worker", kind, json.dumps(config)],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise RuntimeError(f"bench_stream worker {kind} failed:\n{completed.stderr[-3000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def suite(label: str, uri: str, endpoint, workdir: Path, *, compression: str, rounds: int) -> float:
    bucket = f"bench-stream-{uuid.uuid4().hex[:10]}"
    endpoint.client().create_bucket(Bucket=bucket)
    s3 = {"bucket": bucket, "endpoint_url": endpoint.endpoint_url, "access_key": endpoint.access_key,
          "secret_key": endpoint.secret_key, "region": endpoint.region, "prefix": "bench"}  # fmt: skip
    results: Dict[str, List[dict]] = {"file": [], "upload": [], "stream": []}
    for number in range(1, rounds + 1):
        config = {"uri": uri, "compression": compression, "path": str(workdir / "dump.archive"), "s3": s3,
                  "round": number}  # fmt: skip
        for kind, rows in results.items():
            rows.append(run(kind, config))
        print(f"  round {number}: " + ", ".join(f"{k} {v[-1]['seconds']:.2f} s" for k, v in results.items()),
              flush=True)  # fmt: skip
    median = {kind: statistics.median(r["seconds"] for r in rows) for kind, rows in results.items()}
    names = {"file": "dump to file", "upload": "upload file", "stream": "streamed"}
    for kind, rows in results.items():
        print(f"  {names[kind]:12}: median {median[kind]:6.2f} s, peak RSS {max(r['peak_mib'] for r in rows):4.0f} MiB, "
              f"CPU {statistics.median(r['cpu'] for r in rows):5.2f} s, local disk written "
              f"{max(r['disk_bytes'] for r in rows) / 2**20:7.1f} MiB")  # fmt: skip
    slower = max(median["file"], median["upload"])
    ratio = median["stream"] / slower
    print(f"{label}: streamed / slower stage {ratio:.2f} (aim <= 1.15; slower stage "
          f"{'upload' if median['upload'] >= median['file'] else 'dump'} {slower:.2f} s); "
          f"streamed / sum of stages {median['stream'] / (median['file'] + median['upload']):.2f}", flush=True)  # fmt: skip
    return ratio


def main() -> None:
    compression = os.environ.get("OFFSITE_BENCH_STREAM_COMPRESSION", "gzip")
    rounds = int(os.environ.get("OFFSITE_BENCH_STREAM_ROUNDS", "3"))
    print(f"compression {compression}, load {os.getloadavg()[0]:.1f}")
    for kind in server_kinds():
        with (
            tempfile.TemporaryDirectory(prefix="bench-stream-") as tmp,
            s3_endpoint(Path(tmp)) as endpoint,
            served(kind, Path(tmp)) as info,
        ):
            label, uri, _pid, data = info
            print(f"-- {label}: {data / 2**20:.0f} MiB BSON", flush=True)
            suite(label, uri, endpoint, Path(tmp), compression=compression, rounds=rounds)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        worker(sys.argv[2:])
    else:
        main()
