"""The ``mongodump`` / ``mongorestore`` engines: the MongoDB Database Tools run as subprocesses.

The password (and a URI, which may carry one) never reaches a command line: it goes into a
``--config`` YAML file of mode 0600 in a private temporary directory, removed afterwards. The
archive streams through stdout/stdin; this collection's reader walks the same bytes, so the results
(namespaces, counts, CRC checks) are the same as with the native engine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
import time
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import ArchiveReader
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import (
    compressing_writer,
    decompressing_reader,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.dump import DumpReport, NamespaceResult
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import ConnectionOptions
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import (
    RestoreFailed,
    RestoreReport,
    tally_archive,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import (
    SPECIAL_KINDS,
    RestorePlan,
    plan_targets,
    refuse_conflicts,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.streams import Readable, Writable
from ansible_collections.offsite.mongodb.plugins.module_utils.times import precise_time

CHUNK = 1 << 20


def find_tool(name: str, path: Optional[str] = None) -> str:
    """The tool's executable, or a one-line error that says how to get it."""
    found = path if path and os.access(path, os.X_OK) else (None if path else shutil.which(name))
    if not found:
        where = f"at {path}" if path else "in PATH"
        raise OffsiteError(
            f"engine={name} needs the MongoDB Database Tools, but {name} is not {where}: install "
            f"mongodb-database-tools, set {name}_path, or use engine native"
        )
    return found


def connection_arguments(options: ConnectionOptions) -> Tuple[List[str], Dict[str, str]]:
    """(command-line arguments without secrets, secrets for the --config file)."""
    argv: List[str] = []
    secrets: Dict[str, str] = {}
    if options.uri:
        secrets["uri"] = options.uri  # a URI may carry a password
    else:
        argv += [f"--host={options.host}", f"--port={options.port}"]
    if options.user:
        argv += [f"--username={options.user}", f"--authenticationDatabase={options.auth_database}"]
    if options.password:
        secrets["password"] = options.password
    if options.tls:
        argv.append("--ssl")
    if options.tls_ca_file:
        argv.append(f"--sslCAFile={options.tls_ca_file}")
    if options.tls_certificate_key_file:
        argv.append(f"--sslPEMKeyFile={options.tls_certificate_key_file}")
    if options.tls_allow_invalid_hostnames:
        argv.append("--sslAllowInvalidHostnames")
    return argv, secrets


def write_config(directory: str, secrets: Dict[str, str]) -> str:
    """The tools' YAML ``--config`` file (mode 0600) holding ``secrets``; JSON strings are valid YAML."""
    path = os.path.join(directory, "tools.yaml")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        for key, value in secrets.items():
            handle.write(f"{key}: {json.dumps(value)}\n")
    return path


def _single(values: List[str], what: str) -> Optional[str]:
    if len(values) > 1:
        raise OffsiteError(
            f"engine=mongodump dumps one database per run, but {what} names several: use engine native"
        )
    return values[0] if values else None


def mongodump_arguments(plan: DumpPlan) -> List[str]:
    """mongodump's options for ``plan`` (archive to stdout, no --gzip: compression happens here)."""
    if plan.consistency == "snapshot":
        raise OffsiteError("engine=mongodump cannot dump with consistency=snapshot: use engine native")
    argv = ["--archive", f"--numParallelCollections={plan.parallel_collections}"]
    database = _single(list(plan.databases), "databases")
    collection = None
    for pattern in plan.include:
        db, _dot, coll = pattern.partition(".")
        if "*" in db or database not in (None, db):
            raise OffsiteError(
                f"engine=mongodump cannot express include {pattern!r} (one database per run): use engine native"
            )
        database = db
        if coll != "*":
            if "*" in coll or collection is not None:
                raise OffsiteError(f"engine=mongodump cannot express include {pattern!r}: use engine native")
            collection = coll
    if database:
        argv.append(f"--db={database}")
    if collection:
        argv.append(f"--collection={collection}")
    for pattern in plan.exclude:
        db, _dot, coll = pattern.partition(".")
        if db != database or "*" in coll:
            raise OffsiteError(f"engine=mongodump cannot express exclude {pattern!r}: use engine native")
        argv.append(f"--excludeCollection={coll}")
    if plan.query:
        if len(plan.query) > 1 or not collection or f"{database}.{collection}" not in plan.query:
            raise OffsiteError(
                "engine=mongodump takes a query for its single dumped collection only: use engine native"
            )
        value = plan.query[f"{database}.{collection}"]
        argv.append(f"--query={value if isinstance(value, str) else json.dumps(value)}")
    if plan.consistency == "oplog":
        argv.append("--oplog")
    return argv


def mongorestore_arguments(plan: RestorePlan) -> List[str]:
    """mongorestore's options for ``plan`` (archive on stdin, already decompressed)."""
    argv = [
        "--archive",
        f"--numParallelCollections={plan.parallel_collections}",
        f"--numInsertionWorkersPerCollection={plan.insertion_workers}",
    ]
    argv += [f"--nsInclude={p}" for p in plan.include]
    excludes = list(plan.exclude)
    if not plan.users_and_roles:
        excludes += ["admin.system.users", "admin.system.roles"]
    argv += [f"--nsExclude={p}" for p in excludes]
    for source, target in zip(plan.ns_from, plan.ns_to):
        argv += [f"--nsFrom={source}", f"--nsTo={target}"]
    if plan.drop:
        argv.append("--drop")
    if plan.oplog_replay:
        argv.append("--oplogReplay")
    if plan.bypass_document_validation:
        argv.append("--bypassDocumentValidation")
    if plan.write_concern not in (None, ""):
        value = plan.write_concern
        text = json.dumps(value) if isinstance(value, dict) else json.dumps({"w": value})
        argv.append(f"--writeConcern={text}")
    return argv


class _Tee:
    """Reads ``source`` and copies every byte into ``sink`` (set ``sink`` later; earlier bytes are kept)."""

    def __init__(self, source: Any, sink: Any = None) -> None:
        self._source = source
        self._held: List[bytes] = []
        self.sink = sink

    def attach(self, sink: Any) -> None:
        self.sink = sink
        for chunk in self._held:
            sink.write(chunk)
        self._held = []

    def read(self, size: int = CHUNK) -> bytes:
        data = self._source.read(size)
        if data:
            if self.sink is None:
                self._held.append(data)
            else:
                self.sink.write(data)
        return data


def _stderr_tail(path: str, secrets: Dict[str, str]) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        lines = [line.strip() for line in handle if line.strip()]
    text = lines[-1] if lines else "no output"
    for secret in secrets.values():
        text = text.replace(secret, "********")
    return text[:300]


class ToolRun:
    """A tool run with a private config directory; secrets are removed whatever happens."""

    def __init__(self, tool: str, options: ConnectionOptions, arguments: List[str]) -> None:
        self.directory = tempfile.mkdtemp(prefix="offsite-mongodb-tools-")
        connection, self.secrets = connection_arguments(options)
        self.argv = [tool]
        if self.secrets:
            self.argv.append(f"--config={write_config(self.directory, self.secrets)}")
        self.argv += connection + arguments
        self.stderr_path = os.path.join(self.directory, "stderr.log")
        self.process: Optional[subprocess.Popen] = None

    def start(self, stdin: Any = None, stdout: Any = None) -> subprocess.Popen:
        with open(self.stderr_path, "wb") as stderr:
            self.process = subprocess.Popen(self.argv, stdin=stdin, stdout=stdout, stderr=stderr)  # noqa: S603
        return self.process

    def finish(self, what: str) -> None:
        code = self.process.wait() if self.process else 0
        if code != 0:
            raise OffsiteError(
                f"{os.path.basename(self.argv[0])} failed (exit {code}) while {what}: "
                f"{_stderr_tail(self.stderr_path, self.secrets)}"
            )

    def output(self) -> str:
        with open(self.stderr_path, encoding="utf-8", errors="replace") as handle:
            return handle.read()

    def cleanup(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def run_mongodump(options: ConnectionOptions, sink: Writable, plan: DumpPlan, tool: str) -> DumpReport:
    """Run mongodump into ``sink`` (compressed here); the report comes from reading the same bytes."""
    started, clock = precise_time(), time.monotonic()
    run = ToolRun(tool, options, mongodump_arguments(plan))
    try:
        process = run.start(stdout=subprocess.PIPE)
        compressor = compressing_writer(sink, plan.compression, plan.compression_level)
        try:
            reader = ArchiveReader(_Tee(process.stdout, compressor))
            for _event in reader.events():
                pass
        except OffsiteError:
            run.finish("dumping")  # the tool's own error explains a broken stream best
            raise
        run.finish("dumping")
        compressor.finish()
    finally:
        run.cleanup()
    types = {
        (e.db, e.data_collection(reader.version)): (e.ns, e.type or "collection") for e in reader.entries
    }
    namespaces, oplog = [], None
    for key, totals in reader.totals.items():
        ns, kind = types[key]
        if key == ("", "oplog"):
            oplog = {"first": None, "last": None, "count": totals.documents}
            continue
        namespaces.append(NamespaceResult(ns, kind, totals.documents, totals.bytes))
    return DumpReport(
        server_version=reader.header.server_version,
        consistency=plan.consistency,
        compression=plan.compression,
        namespaces=namespaces,
        oplog=oplog,
        started_at=started,
        finished_at=precise_time(),
        duration_seconds=round(time.monotonic() - clock, 3),
    )


def _restored_counts(output: str) -> Tuple[Optional[int], Optional[int]]:
    """(restored, failed) from mongorestore's summary line, when it printed one."""
    restored = failed = None
    for line in output.splitlines():
        if "document(s) restored successfully" in line:
            words = line.split()
            for index, word in enumerate(words):
                if word.startswith("document(s)") and index and words[index - 1].isdigit():
                    if restored is None:
                        restored = int(words[index - 1])
                    else:
                        failed = int(words[index - 1])
    return restored, failed


def run_mongorestore(
    options: ConnectionOptions, client: Any, source: Readable, plan: RestorePlan, tool: str
) -> RestoreReport:
    """Run mongorestore with the same safety rules: the prelude is read and checked before it starts."""
    clock = time.monotonic()
    stream, compression = decompressing_reader(source)
    tee = _Tee(stream)
    reader = ArchiveReader(tee)
    targets = plan_targets(reader, plan)
    report = RestoreReport(compression=compression, server_version=reader.header.server_version)
    report.namespaces = [t for t in targets.values() if t.kind not in SPECIAL_KINDS]
    refuse_conflicts(client, report.namespaces, plan)
    run = ToolRun(tool, options, mongorestore_arguments(plan))
    try:
        process = run.start(stdin=subprocess.PIPE)
        tee.attach(process.stdin)
        failure: Optional[Exception] = None
        try:
            tally_archive(reader, targets)
        except (BrokenPipeError, OffsiteError) as exc:
            failure = exc
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        run.finish("restoring")
        if failure is not None:
            raise RestoreFailed(str(failure), report)
        restored, failed = _restored_counts(run.output())
    finally:
        run.cleanup()
    report.verified = True
    expected = sum(t.archive_documents for t in report.namespaces)
    share = restored if restored is not None else expected
    for t in report.namespaces:  # mongorestore reports totals only; spread them when they add up
        t.data_done = True
        t.documents = t.archive_documents if share == expected else 0
    if failed and report.namespaces:
        report.namespaces[0].failed = failed
    report.duration_seconds = round(time.monotonic() - clock, 3)
    return report
