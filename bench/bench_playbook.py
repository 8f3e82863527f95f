"""The backup playbook's own cost: every task timed, on a tiny database and on the fast server's data set.

1. Overhead: ``ansible-playbook offsite.mongodb.backup`` with default settings but ``backup_consistency: none``
   (both servers are standalone stand-ins, for which ``auto`` chooses an fsync lock that they cannot hold, and
   a lock stages on disk), so staging auto = stream, gzip; against nx-27017 holding a tiny database, S3 on moto. Every task's wall time comes
   from ``bench/callback_plugins/task_timings.py``; the overhead is the run minus the dump task.
2. Whole backup: the same playbook against the fast in-memory server (``OFFSITE_BENCH_FAST_MB``, 256 MiB),
   streamed to moto, against the raw read of the same data (``find_raw_batches``, 4 collections at once).
   Aim: <= 2x the raw read.
Rounds: ``OFFSITE_BENCH_PLAYBOOK_ROUNDS`` (2), medians.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Dict, List

import pymongo
from support.playbook_runner import run_playbook, write_inventory

from bench.data_servers import mongo_server, s3_endpoint
from bench.dataset import DATABASES
from bench.fast_server import fast_server
from bench.measure import ROOT, raw_read

CALLBACKS = ROOT / "bench" / "callback_plugins"
DUMP_TASK = "Dump straight into the S3 catalog"


def backup_once(inventory: Path, workdir: Path) -> Dict[str, float]:
    """One playbook run: {task name: seconds, ..., "total": seconds}."""
    timings = workdir / f"timings-{uuid.uuid4().hex[:6]}.jsonl"
    start = time.perf_counter()
    run = run_playbook(
        "backup",
        inventory,
        env={
            "OFFSITE_BENCH_TIMINGS": str(timings),
            "ANSIBLE_CALLBACK_PLUGINS": f"{CALLBACKS}{os.pathsep}{ROOT / 'tests' / 'support' / 'callback_plugins'}",
            "ANSIBLE_CALLBACKS_ENABLED": "offsite_test_results,task_timings",
        },
        timeout=1800,
    )
    total = time.perf_counter() - start
    if run.rc != 0:
        raise RuntimeError(f"the backup playbook failed:\n{run.tail()}")
    tasks: Dict[str, float] = {}
    for line in timings.read_text().splitlines():
        record = json.loads(line)
        tasks[record["task"]] = tasks.get(record["task"], 0.0) + record["seconds"]
    tasks["total"] = total
    return tasks


def inventory_for(workdir: Path, uri: str, endpoint, databases: List[str]) -> Path:
    bucket = f"bench-playbook-{uuid.uuid4().hex[:8]}"
    endpoint.client().create_bucket(Bucket=bucket)
    return write_inventory(
        workdir / f"hosts-{bucket}.yml",
        {
            "offsite_mongodb_connection": {"uri": uri},
            "offsite_s3_connection": {"endpoint_url": endpoint.endpoint_url, "region": endpoint.region,
                                      "access_key": endpoint.access_key, "secret_key": endpoint.secret_key},
            "offsite_s3_bucket": bucket,
            "backup_set_name": "bench",
            "backup_databases": databases,
            "backup_consistency": "none",  # standalone stand-ins: auto would lock, which they cannot
        },
    )  # fmt: skip


def medians(runs: List[Dict[str, float]]) -> Dict[str, float]:
    return {name: statistics.median(run.get(name, 0.0) for run in runs) for name in runs[0]}


def overhead(workdir: Path, endpoint, rounds: int) -> None:
    with mongo_server(workdir) as mongo:
        client = pymongo.MongoClient(mongo.uri)
        client["bench_tiny"]["items"].insert_many([{"_id": i, "n": i} for i in range(100)])
        inventory = inventory_for(workdir, mongo.uri, endpoint, ["bench_tiny"])
        timed = medians([backup_once(inventory, workdir) for _unused in range(rounds)])
        client.drop_database("bench_tiny")
    dump = next((seconds for name, seconds in timed.items() if DUMP_TASK in name), 0.0)
    print(f"-- tiny database on nx-27017 (median of {rounds}): playbook {timed['total']:.2f} s, dump task "
          f"{dump:.2f} s, overhead (everything else) {timed['total'] - dump:.2f} s")  # fmt: skip
    for name, seconds in sorted(timed.items(), key=lambda item: -item[1]):
        if name != "total" and seconds >= 0.05:
            print(f"   {seconds:6.2f} s  {name}")


def whole_backup(workdir: Path, endpoint, rounds: int) -> None:
    size_mb = int(os.environ.get("OFFSITE_BENCH_FAST_MB", "256"))
    with fast_server(workdir, size_mb) as (uri, _pid):
        client = pymongo.MongoClient(uri)
        inventory = inventory_for(workdir, uri, endpoint, list(DATABASES))
        reads, backups = [], []
        for _unused in range(rounds):
            start = time.perf_counter()
            data = raw_read(client, DATABASES)
            reads.append(time.perf_counter() - start)
            backups.append(backup_once(inventory, workdir))
    read, backup = statistics.median(reads), medians(backups)
    dump = next((seconds for name, seconds in backup.items() if DUMP_TASK in name), 0.0)
    print(f"-- whole backup playbook, fast server {data / 2**20:.0f} MiB, streamed to moto (median of {rounds}): "
          f"{backup['total']:.2f} s = {backup['total'] / read:.2f}x the raw read ({read:.2f} s; aim <= 2); "
          f"dump task {dump:.2f} s, the rest {backup['total'] - dump:.2f} s")  # fmt: skip


def main() -> None:
    rounds = int(os.environ.get("OFFSITE_BENCH_PLAYBOOK_ROUNDS", "2"))
    print(f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory(prefix="bench-playbook-") as tmp, s3_endpoint(Path(tmp)) as endpoint:
        overhead(Path(tmp), endpoint, rounds)
        whole_backup(Path(tmp), endpoint, rounds)


if __name__ == "__main__":
    main()
