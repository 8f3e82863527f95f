"""The oplog_archive role renders its systemd units and root-only options, the installed command archives the
oplog against the test servers when run by hand, and state absent removes everything; the restore playbook
then recovers to a time with restore_to_time (and refuses an unreachable one before writing)."""

from __future__ import annotations

import json
import shutil
import stat
import subprocess
import sys
import time

import pytest
from support.playbook_runner import run_playbook, write_inventory

from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import dump_to_catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.catalog import Catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_archive import archive_oplog
from ansible_collections.offsite.mongodb.plugins.module_utils.oplog_catalog import OplogCatalog

UNIT = "offsite-mongodb-oplog-archive-rsr"


def _inventory(tmp_path, replica, s3_endpoint, bucket, **extra):
    return write_inventory(
        tmp_path / "hosts.yml",
        {
            "offsite_mongodb_connection": {"uri": replica.member_uri("hidden")},
            "offsite_s3_connection": {
                "endpoint_url": s3_endpoint.endpoint_url,
                "region": s3_endpoint.region,
                "access_key": s3_endpoint.access_key,
                "secret_key": s3_endpoint.secret_key,
            },
            "offsite_s3_bucket": bucket,
            "offsite_s3_prefix": "pitr-role",
            "offsite_become": False,
            "oplog_archive_lib_dir": str(tmp_path / "lib"),
            "oplog_archive_config_dir": str(tmp_path / "etc"),
            "oplog_archive_unit_dir": str(tmp_path / "units"),
            "oplog_archive_metrics_dir": str(tmp_path / "metrics"),
            "oplog_archive_python": sys.executable,
            "oplog_archive_manage_systemd": False,
            "oplog_archive_interval": "2min",
            **extra,
        },
    )


def _run_installed(tmp_path):
    command = [sys.executable, str(tmp_path / "lib" / "bin" / "offsite-mongodb-oplog-archive"),
               str(tmp_path / "etc" / "oplog-archive-rsr.json")]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def test_role_installs_a_timer_whose_command_archives_and_state_absent_removes_it(
    tmp_path, make_replica_set, s3_endpoint, s3_bucket
):
    replica = make_replica_set(set_name="rsr")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "units").mkdir()
    inventory = _inventory(tmp_path, replica, s3_endpoint, s3_bucket)
    run = run_playbook("oplog_archive", inventory)
    assert run.rc == 0, run.tail()
    assert "rsr: oplog archived from localhost (secondary) every 2min" in run.output

    service = (tmp_path / "units" / f"{UNIT}.service").read_text()
    timer = (tmp_path / "units" / f"{UNIT}.timer").read_text()
    assert f"LoadCredential=options:{tmp_path}/etc/oplog-archive-rsr.json" in service
    assert f"ExecStart={sys.executable} {tmp_path}/lib/bin/offsite-mongodb-oplog-archive\n" in service
    assert "Type=oneshot" in service and f"ReadWritePaths={tmp_path}/metrics" in service
    assert "OnUnitInactiveSec=2min" in timer and f"Unit={UNIT}.service" in timer
    assert "WantedBy=timers.target" in timer
    analyze = shutil.which("systemd-analyze")
    if analyze:  # the units parse as systemd reads them (no running systemd needed)
        checked = subprocess.run([analyze, "verify", "--man=no", str(tmp_path / "units" / f"{UNIT}.timer"),
                                  str(tmp_path / "units" / f"{UNIT}.service")], capture_output=True, text=True, check=False)  # fmt: skip
        problems = [line for line in checked.stderr.splitlines() if UNIT in line and "Unknown" in line]
        assert problems == [], checked.stderr

    options_file = tmp_path / "etc" / "oplog-archive-rsr.json"
    assert stat.S_IMODE(options_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "etc").stat().st_mode) == 0o700
    options = json.loads(options_file.read_text())
    assert options["params"]["set_name"] == "rsr" and options["params"]["bucket"] == s3_bucket
    assert s3_endpoint.secret_key not in run.output  # the options file is written with no_log

    replica.client("primary").shop.orders.insert_many([{"_id": i} for i in range(30)])
    first = _run_installed(tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("set rsr: archived ")
    oplog = OplogCatalog(Catalog(s3_endpoint.client(), s3_bucket, "pitr-role"), "rsr")
    slices = oplog.slices(oplog.list())
    assert len(slices) == 1
    again = _run_installed(tmp_path)
    assert again.returncode == 0 and "nothing new" in again.stdout
    run_metrics = (tmp_path / "metrics" / "offsite_mongodb_oplog_archive_rsr_run.prom").read_text()
    success = (tmp_path / "metrics" / "offsite_mongodb_oplog_archive_rsr_success.prom").read_text()
    assert (
        f'offsite_mongodb_oplog_archive_last_run_success{{set="rsr",bucket="{s3_bucket}"}} 1' in run_metrics
    )
    assert (
        f'offsite_mongodb_oplog_archive_last_archived_timestamp_seconds{{set="rsr",bucket="{s3_bucket}"}} {slices[0].last.secs}'
        in success
    )
    assert "offsite_mongodb_oplog_archive_lag_seconds" in success

    broken = json.loads(options_file.read_text())
    broken["params"]["bucket"] = "no-such-bucket-for-pitr"
    options_file.write_text(json.dumps(broken))
    failed = _run_installed(tmp_path)
    assert failed.returncode == 1 and "oplog archiving failed" in failed.stderr
    assert "Traceback" not in failed.stderr and s3_endpoint.secret_key not in failed.stderr
    failed_metrics = (tmp_path / "metrics" / "offsite_mongodb_oplog_archive_rsr_run.prom").read_text()
    assert "consecutive_failures{" in failed_metrics and failed_metrics.rstrip().endswith(" 1")

    removed = run_playbook("oplog_archive", inventory, extra_vars={"oplog_archive_state": "absent"})
    assert removed.rc == 0, removed.tail()
    assert list((tmp_path / "units").iterdir()) == []
    assert not (tmp_path / "etc").exists() and not (tmp_path / "lib").exists()


@pytest.mark.parametrize("unreachable", [False, True])
def test_restore_playbook_recovers_to_a_time(tmp_path, make_replica_set, s3_endpoint, s3_bucket, unreachable):
    source = make_replica_set(set_name="rsr")
    target = make_replica_set(set_name="rst")
    (tmp_path / "metrics").mkdir()
    (tmp_path / "staging").mkdir()
    src = source.client("primary")
    src.shop.orders.insert_many([{"_id": i, "v": 0} for i in range(50)])
    catalog = Catalog(s3_endpoint.client(), s3_bucket, "pitr-role")
    dump_to_catalog(
        lambda: source.client("primary"), catalog, "rsr", DumpPlan(consistency="oplog", include=["shop.*"])
    )
    src.shop.orders.update_many({}, {"$set": {"v": 1}})
    time.sleep(1.1)  # a new second: the point asked is before the next writes
    asked = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    time.sleep(1.1)
    src.shop.orders.delete_many({"_id": {"$lt": 10}})
    archive_oplog(src, OplogCatalog(catalog, "rsr"))

    inventory = _inventory(tmp_path, target, s3_endpoint, s3_bucket, restore_set_name="rsr",
                           offsite_mongodb_connection={"uri": target.member_uri("primary")},
                           restore_staging_dir=str(tmp_path / "staging"))  # fmt: skip
    point = "2001-01-01T00:00:00Z" if unreachable else asked
    run = run_playbook("restore", inventory, extra_vars={"restore_to_time": point})
    docs = list(target.client("primary").shop.orders.find())
    if unreachable:
        assert run.rc != 0
        assert (
            "cannot recover to 2001-01-01T00:00:00Z: no base backup is consistent at or before it"
            in run.output
        )
        assert docs == [] and not run.ran("Restore the archive")
        return
    assert run.rc == 0, run.tail()
    assert len(docs) == 50 and all(doc["v"] == 1 for doc in docs)  # updated, not yet deleted
    reached = run.result("Report the point reached")["msg"]
    assert "50 oplog entries applied" in reached and '"shop.orders": 50' in reached
    listing = run_playbook("list", inventory)
    assert listing.rc == 0, listing.tail()
    assert "rsr: 1 oplog slice(s); recoverable " in listing.output
