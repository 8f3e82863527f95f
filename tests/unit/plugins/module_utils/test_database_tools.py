"""The Database Tools engine: command lines without secrets, the 0600 config file, and a run with a stand-in tool."""

from __future__ import annotations

import io
import json
import os
import stat
import sys
from pathlib import Path

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils import compression, database_tools
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import connection_options
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan
from ansible_collections.offsite.mongodb.tests.unit.helpers.fixtures import MONGODUMP_FIXTURES

SECRET = "s3cr3t-Pa55"
FIXTURE = MONGODUMP_FIXTURES / "archive" / "dump-w-oplog.archive"


def fake_tool(tmp_path: Path) -> Path:
    """A stand-in mongodump: records argv and its config file, then writes a real archive to stdout."""
    script = tmp_path / "mongodump"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys\n"
        "cfg = [a.split('=', 1)[1] for a in sys.argv if a.startswith('--config=')]\n"
        "info = {'argv': sys.argv, 'config': open(cfg[0]).read() if cfg else None,\n"
        "        'mode': oct(os.stat(cfg[0]).st_mode & 0o777) if cfg else None}\n"
        f"open({str(tmp_path / 'seen.json')!r}, 'w').write(json.dumps(info))\n"
        f"sys.stdout.buffer.write(open({str(FIXTURE)!r}, 'rb').read())\n"
    )
    script.chmod(0o755)
    return script


def test_password_and_uri_never_reach_the_command_line():
    options = connection_options(
        {"login_host": "db1", "login_port": 27018, "login_user": "bk", "login_password": SECRET}
    )
    argv, secrets = database_tools.connection_arguments(options)
    assert SECRET not in " ".join(argv)
    assert argv[:2] == ["--host=db1", "--port=27018"] and "--username=bk" in argv
    assert secrets == {"password": SECRET}
    uri = f"mongodb://bk:{SECRET}@db1:27017/?authSource=admin"
    argv, secrets = database_tools.connection_arguments(connection_options({"uri": uri}))
    assert SECRET not in " ".join(argv) and secrets == {"uri": uri}


def test_config_file_is_private_yaml(tmp_path):
    path = database_tools.write_config(str(tmp_path), {"password": 'we"ird: pass'})
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert Path(path).read_text() == 'password: "we\\"ird: pass"\n'


def test_mongodump_arguments():
    plan = DumpPlan(
        include=["shop.orders"],
        query={"shop.orders": '{"a": 1}'},
        consistency="oplog",
        parallel_collections=2,
    )
    assert database_tools.mongodump_arguments(plan) == [
        "--archive", "--numParallelCollections=2", "--db=shop", "--collection=orders", '--query={"a": 1}', "--oplog",
    ]  # fmt: skip
    assert "--excludeCollection=tmp" in database_tools.mongodump_arguments(
        DumpPlan(databases=["shop"], exclude=["shop.tmp"])
    )
    for plan in (DumpPlan(databases=["a", "b"]), DumpPlan(include=["*.x"]), DumpPlan(consistency="snapshot")):
        with pytest.raises(OffsiteError, match="engine native"):
            database_tools.mongodump_arguments(plan)


def test_mongorestore_arguments():
    plan = RestorePlan(include=["a.*"], ns_from=["a.*"], ns_to=["b.*"], drop=True, write_concern="majority")
    argv = database_tools.mongorestore_arguments(plan)
    assert argv[:3] == ["--archive", "--numParallelCollections=4", "--numInsertionWorkersPerCollection=1"]
    assert "--nsInclude=a.*" in argv and "--nsFrom=a.*" in argv and "--nsTo=b.*" in argv and "--drop" in argv
    assert "--nsExclude=admin.system.users" in argv  # users_and_roles false
    assert '--writeConcern={"w": "majority"}' in argv


def test_missing_tool_is_a_one_line_error(tmp_path):
    with pytest.raises(
        OffsiteError, match="install mongodb-database-tools, set mongodump_path, or use engine native"
    ):
        database_tools.find_tool("mongodump", str(tmp_path / "nope"))


def test_run_mongodump_compresses_and_reports_like_native(tmp_path):
    tool = fake_tool(tmp_path)
    options = connection_options({"login_host": "db1", "login_user": "bk", "login_password": SECRET})
    out = io.BytesIO()
    report = database_tools.run_mongodump(options, out, DumpPlan(compression="zstd"), str(tool))
    seen = json.loads((tmp_path / "seen.json").read_text())
    assert SECRET not in " ".join(seen["argv"])
    assert seen["config"] == f'password: "{SECRET}"\n' and seen["mode"] == "0o600"
    config_path = next(a for a in seen["argv"] if a.startswith("--config=")).split("=", 1)[1]
    assert not os.path.exists(config_path)  # removed after the run
    stream, kind = compression.decompressing_reader(io.BytesIO(out.getvalue()))
    assert kind == "zstd" and stream.read(1 << 20) == FIXTURE.read_bytes()
    assert {n.ns: n.documents for n in report.namespaces} == {"admin.system.version": 1, "test.foo": 25}
    assert report.oplog["count"] == 18 and report.server_version == "4.0.2"


def test_failing_tool_error_hides_the_password(tmp_path):
    tool = tmp_path / "mongodump"
    tool.write_text(f"#!/bin/sh\necho 'error connecting with password {SECRET}' >&2\nexit 1\n")
    tool.chmod(0o755)
    options = connection_options({"login_user": "bk", "login_password": SECRET})
    with pytest.raises(OffsiteError) as caught:
        database_tools.run_mongodump(options, io.BytesIO(), DumpPlan(compression="none"), str(tool))
    assert SECRET not in str(caught.value) and "exit 1" in str(caught.value)
