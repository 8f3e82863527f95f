"""Start nx-27017 (MongoDB) and moto (S3) on free loopback ports, load sample data, then run the
collection's playbooks as an operator would: backup, list, restore into a new database, verify.
The servers are stopped by PID at the end, whatever happened. Run with ``make demo``.
"""

from __future__ import annotations

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

from support.processes import ServerProcess, free_port  # noqa: E402

BIN = Path(sys.executable).parent
COLLECTIONS = ROOT / ".cache" / "collections"
BUCKET = "offsite-demo"
ACCESS_KEY = "demo-access-key"
SECRET_KEY = "demo-secret-key"  # noqa: S105 - moto accepts any key
TRUE = ("1", "true", "yes", "on")
SAMPLE = {"customers": 2000, "orders": 10000, "products": 300}


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
    """nx-27017 and moto_server on free 127.0.0.1 ports; returns their processes and addresses."""
    mongo_port, s3_port = free_port(), free_port()
    data = workdir / "nx-data"
    data.mkdir()
    mongo = ServerProcess(
        [str(BIN / "nx-27017"), "--data-dir", str(data), "-p", str(mongo_port),
         "--log-file", str(workdir / "nx.log"), "--pid-file", str(workdir / "nx.pid")],
        mongo_port, workdir / "nx.out",
    )  # fmt: skip
    try:
        s3 = ServerProcess(
            [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)], s3_port, workdir / "moto.log"
        )
    except BaseException:
        mongo.stop()
        raise
    return {
        "mongo": mongo,
        "s3": s3,
        "uri": f"mongodb://127.0.0.1:{mongo_port}/?directConnection=true",
        "endpoint": f"http://127.0.0.1:{s3_port}",
    }


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


def count_documents(uri: str, database: str) -> Dict[str, int]:
    """Documents per collection of ``database``."""
    client = pymongo.MongoClient(uri)
    try:
        db = client[database]
        return {name: db[name].count_documents({}) for name in sorted(db.list_collection_names())}
    finally:
        client.close()


def create_bucket(endpoint: str) -> None:
    """The demo's bucket on the moto server."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip
    client.create_bucket(Bucket=BUCKET)


def write_inventory(path: Path, servers: Mapping[str, Any]) -> Path:
    """The demo inventory: this machine as the database host, the stand-ins as MongoDB and S3."""
    host = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "offsite_mongodb_connection": {"uri": servers["uri"]},
        "offsite_s3_connection": {
            "endpoint_url": servers["endpoint"],
            "region": "us-east-1",
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
        },
        "offsite_s3_bucket": BUCKET,
        "backup_set_name": "shop-demo",
        "restore_set_name": "shop-demo",
        "verify_set_name": "shop-demo",
        "backup_staging_dir": str(path.parent),
        "restore_staging_dir": str(path.parent),
        "backup_retention": {"keep_last": 3},
    }
    inventory = {
        "all": {"hosts": {"localhost": host}, "children": {"mongodb": {"hosts": {"localhost": None}}}}
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


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
    shown = ["ansible-playbook", f"offsite.mongodb.{name}", "-i", "demo-inventory.yml", *(extra or [])]
    banner(" ".join(shlex.quote(part) for part in shown))
    subprocess.run(argv, env=playbook_env(), check=True, timeout=600)  # noqa: S603 - our own argv


def main() -> int:
    """The whole demo; returns the exit status."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="offsite-demo-") as scratch:
        workdir = Path(scratch)
        banner("Starting the stand-in servers: nx-27017 (MongoDB wire protocol) and moto (S3) on 127.0.0.1")
        servers = start_servers(workdir)
        try:
            print(
                f"MongoDB {servers['uri']} (pid {servers['mongo'].pid}), S3 {servers['endpoint']} (pid {servers['s3'].pid})"
            )
            create_bucket(servers["endpoint"])
            banner("Loading sample data into database shop")
            loaded = load_sample_data(servers["uri"])
            print(", ".join(f"shop.{name}: {count}" for name, count in loaded.items()))
            inventory = write_inventory(workdir / "demo-inventory.yml", servers)

            playbook("backup", inventory)
            playbook("list", inventory)
            playbook(
                "restore", inventory,
                ["-e", '{"restore_ns_from": ["shop.*"], "restore_ns_to": ["shop_restored.*"]}'],
            )  # fmt: skip
            restored = count_documents(servers["uri"], "shop_restored")
            banner("Restored database shop_restored, counted directly")
            print(", ".join(f"shop_restored.{name}: {count}" for name, count in restored.items()))
            if restored != loaded:
                print(f"MISMATCH: loaded {loaded}, restored {restored}")
                return 1
            playbook("verify", inventory)
        except subprocess.CalledProcessError as error:
            print(f"\nDEMO FAILED: {error}", file=sys.stderr)
            return 1
        finally:
            banner("Stopping the servers by PID")
            for name in ("mongo", "s3"):
                servers[name].stop()
                print(f"stopped {name} (pid {servers[name].pid})")
    banner(f"Demo finished in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
