"""Start a replica-set stand-in (primary, secondary, hidden secondary, arbiter) and moto (S3) on free
loopback ports, load sample data, then run the collection's playbooks as an operator would while a
writer keeps changing the data: backup (consistent by default: oplog on the hidden member), list,
restore into a second replica set (replayed to the dump's end), verify. The servers are stopped by PID
at the end, whatever happened. Run with ``make demo``.
"""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional

import boto3
import pymongo
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.member_inventory import write_member_inventory  # noqa: E402
from support.processes import ServerProcess, free_port  # noqa: E402
from support.replset import start_replica_set  # noqa: E402
from support.writer import Writer, read_state  # noqa: E402

BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / ".cache" / "collections"
BUCKET = "offsite-demo"
ACCESS_KEY = "demo-access-key"
SECRET_KEY = "demo-secret-key"  # noqa: S105 - moto accepts any key
TRUE = ("1", "true", "yes", "on")
SAMPLE = {"customers": 2000, "orders": 10000, "products": 300}
PREFIX = "mongodb-backups"


def use_colour() -> bool:
    """Colour on a terminal only, unless NO_COLOR / ANSIBLE_NOCOLOR or ANSIBLE_FORCE_COLOR says otherwise."""
    if os.environ.get("NO_COLOR") or os.environ.get("ANSIBLE_NOCOLOR", "").lower() in TRUE:
        return False
    return os.environ.get("ANSIBLE_FORCE_COLOR", "").lower() in TRUE or sys.stdout.isatty()


def banner(text: str) -> None:
    """A visible step header (bold on a terminal, plain text in a log)."""
    line = f"==> {text}"
    print(f"\n\033[1m{line}\033[0m" if use_colour() else f"\n{line}", flush=True)


def start_servers(workdir: Path) -> Dict[str, Any]:
    """The replica-set stand-in, the restore target set and moto_server on free 127.0.0.1 ports."""
    started: Dict[str, Any] = {}
    for name in ("source", "target"):
        (workdir / name).mkdir()
    try:
        started["source"] = start_replica_set(workdir / "source")
        started["target"] = start_replica_set(
            workdir / "target", set_name="rs-restore", members=(("primary", "primary"),)
        )
        s3_port = free_port()
        started["s3"] = ServerProcess(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], s3_port, workdir / "moto.log"
        )
        started["endpoint"] = f"http://127.0.0.1:{s3_port}"
    except BaseException:
        stop_servers(started)
        raise
    return started


def stop_servers(servers: Mapping[str, Any]) -> None:
    """Stop whatever was started, by PID."""
    for name in ("source", "target", "s3"):
        if name in servers:
            servers[name].stop()
            server = servers[name]
            pid = server.pid if hasattr(server, "pid") else server.process.pid
            print(f"stopped {name} (pid {pid})")


def order(rng: random.Random) -> Dict[str, Any]:
    """One sample order of one to four lines."""
    lines = [
        {"product": rng.randrange(SAMPLE["products"]), "qty": rng.randint(1, 5)}
        for line in range(rng.randint(1, 4))
    ]
    return {"customer": rng.randrange(SAMPLE["customers"]), "lines": lines}


def load_sample_data(uri: str) -> Dict[str, int]:
    """A small shop database; returns the document count per collection."""
    rng = random.Random(5)  # noqa: S311 - sample data, not security
    client = pymongo.MongoClient(uri)
    try:
        shop = client["shop"]
        shop["products"].insert_many(
            [
                {"_id": i, "name": f"product {i}", "price": round(rng.uniform(1, 500), 2)}
                for i in range(SAMPLE["products"])
            ]
        )
        shop["customers"].insert_many(
            [{"_id": i, "name": f"customer {i}", "email": f"c{i}@example.com", "tier": rng.choice("abc")}
             for i in range(SAMPLE["customers"])]
        )  # fmt: skip
        shop["orders"].insert_many([order(rng) for number in range(SAMPLE["orders"])])
        shop["orders"].create_index("customer")
        return {name: shop[name].count_documents({}) for name in SAMPLE}
    finally:
        client.close()


def create_bucket(endpoint: str) -> None:
    """The demo's bucket on the moto server."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)


def s3_vars(servers: Mapping[str, Any], staging: Path) -> Dict[str, Any]:
    return {
        "offsite_s3_connection": {
            "endpoint_url": servers["endpoint"],
            "region": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        },
        "offsite_s3_bucket": BUCKET,
        "backup_staging_dir": str(staging),
        "restore_staging_dir": str(staging),
        "verify_staging_dir": str(staging),
    }


def write_inventories(workdir: Path, servers: Mapping[str, Any]) -> Dict[str, Path]:
    """One inventory host per member of the source set (the role picks the node), one for the restore target."""
    common = {**s3_vars(servers, workdir), "backup_retention": {"keep_last": 3}, "verify_set_name": "rs0"}
    source = write_member_inventory(workdir / "demo-inventory.yml", servers["source"], common)
    # The list playbook runs on the controller (localhost), which needs the S3 settings too.
    inventory = yaml.safe_load(source.read_text())
    controller = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    inventory["all"]["hosts"] = {"localhost": {**controller, **s3_vars(servers, workdir)}}
    source.write_text(yaml.safe_dump(inventory, sort_keys=False))
    target = write_member_inventory(
        workdir / "restore-inventory.yml", servers["target"], {**common, "restore_set_name": "rs0"}
    )
    return {"source": source, "target": target}


def newest_manifest(endpoint: str) -> Dict[str, Any]:
    """The manifest of the newest backup of rs0, read straight from the bucket."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    keys = sorted(
        item["Key"] for item in client.list_objects_v2(Bucket=BUCKET, Prefix=f"{PREFIX}/rs0/")["Contents"]
        if item["Key"].endswith("/manifest.json")
    )  # fmt: skip
    return json.loads(client.get_object(Bucket=BUCKET, Key=keys[-1])["Body"].read())


def playbook_env() -> Dict[str, str]:
    """The environment of the demo's ansible-playbook runs: quiet, and coloured only where the demo is."""
    env = dict(os.environ)
    colour = use_colour()
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_DISPLAY_SKIPPED_HOSTS="false",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_DEPRECATION_WARNINGS="0",
        ANSIBLE_FORCE_COLOR="1" if colour else "0",
        ANSIBLE_NOCOLOR="0" if colour else "1",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    return env


def playbook(name: str, inventory: Path, extra: Optional[List[str]] = None) -> None:
    """Run ``ansible-playbook offsite.mongodb.<name>`` with its output on the terminal; raise on failure."""
    argv = [str(BIN / "ansible-playbook"), f"offsite.mongodb.{name}", "-i", str(inventory), *(extra or [])]
    shown = ["ansible-playbook", f"offsite.mongodb.{name}", "-i", inventory.name, *(extra or [])]
    banner(" ".join(shlex.quote(part) for part in shown))
    subprocess.run(argv, env=playbook_env(), check=True, timeout=600)  # noqa: S603 - our own argv


def report_backup(manifest: Mapping[str, Any], writer: Writer) -> Dict[str, Any]:
    """Say what the backup's consistency means, with the writer's own log as the witness."""
    consistency = manifest["consistency"]
    window = consistency.get("oplog") or {}
    banner(f"The backup is consistent: {consistency['mode']}")
    print(
        f"set {manifest['set_name']}, dumped from its hidden secondary (the role's choice); "
        f"the oplog window has {window.get('count')} entries"
    )
    if window:
        during = writer.writes_between(window["first"], window["last"])
        print(
            f"the writer made {len(writer.log)} writes in all, {len(during)} of them while the dump ran; "
            "a restore with oplog replay gives the data as it was at the dump's last oplog entry"
        )
    return window


def check_restore(
    servers: Mapping[str, Any], loaded: Mapping[str, int], writer: Writer, window: Mapping
) -> bool:
    """The target set holds the sample data, and shop.events exactly as it was at the dump's end."""
    with pymongo.MongoClient(servers["target"].member_uri("primary")) as client:
        restored = {name: client["shop"][name].count_documents({}) for name in SAMPLE}
        events = read_state(client, "shop", ["events"])
    expected = writer.state_at(window["last"])
    banner("The restore into rs-restore, checked document by document")
    print(", ".join(f"shop.{name}: {count}" for name, count in restored.items()))
    print(
        f"shop.events: {len(events['events'])} documents, the source had {len(expected['events'])} at the dump's end"
    )
    if restored != dict(loaded) or events != expected:
        print("MISMATCH: the restore is not the source at the dump's end")
        return False
    print("equal to the source at the dump's end, although the writer went on changing it afterwards")
    return True


def main() -> int:
    """The whole demo; returns the exit status."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offsite-demo-") as scratch:
        workdir = Path(scratch)
        banner(
            "Starting the stand-in servers on 127.0.0.1: a MongoDB replica set (primary, secondary, hidden "
            "secondary, arbiter), a second set to restore into, and moto (S3)"
        )
        servers = start_servers(workdir)
        writer: Optional[Writer] = None
        try:
            source = servers["source"]
            members = ", ".join(f"{name} {source.host(name)}" for name in source.members)
            print(f"rs0: {members} (pid {source.process.pid})")
            print(
                f"rs-restore: primary {servers['target'].host('primary')}; S3 {servers['endpoint']} (pid {servers['s3'].pid})"
            )
            create_bucket(servers["endpoint"])
            banner("Loading sample data into database shop")
            loaded = load_sample_data(source.member_uri("primary"))
            print(", ".join(f"shop.{name}: {count}" for name, count in loaded.items()))
            inventories = write_inventories(workdir, servers)

            banner(
                "Starting a writer: inserts, updates and deletes in shop.events on the primary, during the backup"
            )
            writer = Writer(source.member_uri("primary"), "shop", ["events"], seed=100, pause=0.01)
            writer.seed()
            writer.start()
            playbook("backup", inventories["source"])
            writer.stop()
            window = report_backup(newest_manifest(servers["endpoint"]), writer)
            playbook("list", inventories["source"])
            playbook("restore", inventories["target"])
            if not check_restore(servers, loaded, writer, window):
                return 1
            playbook("verify", inventories["source"])
        except subprocess.CalledProcessError as error:
            print(f"\nDEMO FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            if writer is not None and writer.is_alive():
                writer.stop()
            banner("Stopping the servers by PID")
            stop_servers(servers)
    banner(f"Demo finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
