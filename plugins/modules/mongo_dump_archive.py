#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: dump MongoDB into a mongodump-compatible archive file, or stream it into the S3 catalog."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_dump_archive
short_description: Dump MongoDB into one mongodump-compatible archive, to a file or streamed into the S3 catalog
version_added: 0.1.0
description:
  - Writes mongodump's C(--archive) format, compressed as a whole with gzip (what C(mongorestore --archive --gzip)
    reads), zstd (faster; read it with C(zstd -dc FILE | mongorestore --archive)) or not at all.
  - Documents are copied as the raw BSON the server sends, never decoded, so every BSON type survives byte for byte.
    Several collections are read at once and multiplexed into the one archive.
  - Dumps collection options, every index, views (definition only), timeseries buckets and, when the admin database
    is dumped, users, roles and C(admin.system.version), as mongodump does. C(local) and C(config) are left out
    unless named in O(databases).
  - The file is written under a temporary name and renamed when complete, with mode 0600; its SHA-256 is computed
    while writing and kept in a C(<dest>.sha256) sidecar.
  - With O(bucket) instead of O(dest), the archive streams straight into the backup catalog of
    M(offsite.mongodb.s3_backup_archive) (C(<prefix>/<set_name>/<backup_id>/)) with no local file and bounded memory;
    its SHA-256 is computed on the way and the manifest is written last. A failed dump or upload aborts the
    multipart upload, so no partial backup is left in the catalog.
  - The dump only reads, so it works while the node is fsync-locked by M(offsite.mongodb.mongo_fsync_lock).
author:
  - offsite.mongodb maintainers (@offsite)
options:
  dest:
    description:
      - The archive file to write. Its directory must exist.
      - Exactly one of O(dest) and O(bucket) is required.
    type: path
  bucket:
    description:
      - Stream the archive into the backup catalog in this S3 bucket instead of writing O(dest).
      - Connection options (O(endpoint_url), O(access_key)...) and storage options (O(encryption)...) are those of
        M(offsite.mongodb.s3_backup_archive). O(connect_timeout) applies to MongoDB and S3 alike.
    type: str
  set_name:
    description:
      - With O(bucket), the backup set the dump belongs to (replica set or host name). Required with O(bucket).
    type: str
  backup_id:
    description:
      - With O(bucket), the id of the new backup. Default is the UTC time the dump starts (C(20261125T031500Z)).
      - An existing backup is never overwritten.
    type: str
  labels:
    description:
      - With O(bucket), free-form labels recorded in the manifest.
    type: dict
  compression:
    description:
      - How the whole archive stream is compressed. Reading detects it from the magic bytes, never from the name.
    type: str
    choices: [gzip, zstd, none]
    default: gzip
  compression_level:
    description:
      - gzip 0 to 9 (default 6, as mongodump), zstd -7 to 22 (default 2; measured within 5% of level 3's size for 20-60% less CPU).
    type: int
  consistency:
    description:
      - V(none) reads each collection as it is when read.
      - V(lock) expects the node to be fsync-locked already (the backup role takes the lock with
        M(offsite.mongodb.mongo_fsync_lock)); the dump warns when the node reports no lock.
      - V(oplog) (replica-set members) records the oplog position before the dump and appends the oplog entries
        written during it, so that a restore with O(offsite.mongodb.mongo_restore_archive#module:oplog_replay)
        gives the state at the end of the dump. With O(databases), only the entries of those databases are kept, so
        that the replay never touches a database the archive does not hold.
      - V(snapshot) (MongoDB 5.0+ replica sets and sharded clusters) reads every collection at one cluster time; it
        fails with a clear message when the dump outlasts the server's snapshot history window.
      - The default is V(none) so that the module does only what its task says; the C(offsite.mongodb.backup) role
        chooses a consistent mode by default (C(backup_consistency=auto)).
      - A mode the node cannot give (V(oplog) on a standalone server, V(snapshot) before MongoDB 5.0, V(lock) on an
        arbiter or a mongos before 7.0.2) fails before anything is written, in one line that names what to use.
    type: str
    choices: [none, lock, oplog, snapshot]
    default: none
  databases:
    description:
      - Dump only these databases. Default is every database except C(local) and C(config).
    type: list
    elements: str
  include:
    description:
      - Namespace patterns to dump, in the Database Tools' syntax (C(sales.*), C(*.orders), C(db*.b*)).
    type: list
    elements: str
  exclude:
    description:
      - Namespace patterns to leave out.
    type: list
    elements: str
  query:
    description:
      - "A filter per namespace, as Extended JSON text or a dictionary, for example C({\"shop.orders\": {\"year\": 2024}})."
    type: dict
  parallel_collections:
    description:
      - How many collections are read at once; also written to the archive header, as mongodump does.
    type: int
    default: 4
  engine:
    description:
      - V(native) is this collection's engine. V(mongodump) runs the MongoDB Database Tools (they must be installed)
        and gives the same archive and return values; the password goes into a private config file, never onto a
        command line.
      - V(auto) chooses the native engine, because it can stream to S3, write zstd, read one snapshot and is the code
        the collection's tests prove.
    type: str
    choices: [auto, native, mongodump]
    default: auto
  mongodump_path:
    description:
      - The mongodump executable for O(engine=mongodump). Default is C(mongodump) from C(PATH).
    type: path
  stale_uploads_after:
    description:
      - Before its own upload, the backup aborts the unfinished multipart uploads of the same set that runs which died
        left behind, recognised by having been untouched (no new part) for this long. A backup still running sends
        parts every few seconds and is never touched.
      - A duration such as C(15m), C(2h) or C(90s).
    type: str
    default: 15m
  keep_last:
    description:
      - With O(bucket), once the new backup is stored, prune the set with the keep_* rules as
        M(offsite.mongodb.s3_backup_archive) O(offsite.mongodb.s3_backup_archive#module:mode=prune) does (one task
        instead of two). Unset rules are off; without any rule nothing is pruned. A prune that fails is a warning,
        never a failed backup (RV(pruned)).
      - Keep the N newest complete backups. V(-1) keeps all.
    type: int
  keep_hourly:
    description:
      - With O(bucket), keep the newest backup of each of the last N hours that have backups (see O(keep_last)).
    type: int
  keep_daily:
    description:
      - With O(bucket), keep the newest backup of each of the last N days (UTC) that have backups.
    type: int
  keep_weekly:
    description:
      - With O(bucket), keep the newest backup of each of the last N ISO weeks that have backups.
    type: int
  keep_monthly:
    description:
      - With O(bucket), keep the newest backup of each of the last N months that have backups.
    type: int
  keep_yearly:
    description:
      - With O(bucket), keep the newest backup of each of the last N years that have backups.
    type: int
  keep_within:
    description:
      - With O(bucket), keep every backup taken within this duration of the newest backup, for example C(7d).
    type: str
  force:
    description:
      - Overwrite an existing O(dest). Without it an existing O(dest) that matches its C(.sha256) sidecar is left
        alone (changed=false), and any other existing file is an error.
    type: bool
    default: false
requirements:
  - zstandard >= 0.22 on the host that runs the module (for zstd archives)
  - fastcrc >= 0.3 on the host that runs the module (fast CRC-64; without it a slow pure-Python CRC is used, with a warning)
extends_documentation_fragment:
  - offsite.mongodb.mongo
  - offsite.mongodb.s3
  - offsite.mongodb.s3_storage
attributes:
  check_mode:
    description: Lists the namespaces that would be dumped with estimated documents and bytes; writes nothing.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
notes:
  - The archive restores with M(offsite.mongodb.mongo_restore_archive) or with stock C(mongorestore --archive).
seealso:
  - module: offsite.mongodb.mongo_restore_archive
  - module: offsite.mongodb.mongo_fsync_lock
"""

EXAMPLES = r"""
- name: Dump every database into a gzip archive
  offsite.mongodb.mongo_dump_archive:
    dest: /var/backups/mongodb/nightly.archive.gz
  register: dump

- name: Dump two databases with zstd and a consistent oplog window
  offsite.mongodb.mongo_dump_archive:
    login_host: db1.example.com
    login_user: backup
    login_password: "{{ vault_backup_password }}"
    dest: /var/backups/mongodb/shop.archive.zst
    compression: zstd
    consistency: oplog
    databases: [shop, crm]
    exclude: ["shop.tmp_*"]

- name: Dump this year's orders only
  offsite.mongodb.mongo_dump_archive:
    dest: /tmp/orders.archive
    compression: none
    include: ["shop.orders"]
    query:
      shop.orders: '{"created": {"$gte": {"$date": "2024-01-01T00:00:00Z"}}}'

- name: Stream a dump straight into the S3 catalog, no local disk
  offsite.mongodb.mongo_dump_archive:
    bucket: backups-prod
    prefix: mongodb
    set_name: rs0
    compression: zstd
    consistency: oplog
    labels:
      trigger: nightly
  register: backup

- name: Stream a dump into the catalog, then keep a week of dailies and four weeklies
  offsite.mongodb.mongo_dump_archive:
    bucket: backups-prod
    set_name: rs0
    keep_daily: 7
    keep_weekly: 4
"""

RETURN = r"""
path:
  description: The archive file (null when the archive was streamed to O(bucket)).
  returned: always
  type: str
  sample: /var/backups/mongodb/nightly.archive.gz
size:
  description: Bytes of the file as written.
  returned: success
  type: int
  sample: 123456
sha256:
  description: SHA-256 of the file as written (hex).
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
compression:
  description: The compression used.
  returned: always
  type: str
  sample: gzip
consistency:
  description: The consistency mode.
  returned: always
  type: str
  sample: none
engine:
  description: The engine that ran (V(native) or V(mongodump)).
  returned: always
  type: str
  sample: native
server_version:
  description: The source server's version as written to the archive header.
  returned: success
  type: str
  sample: 7.0.12
namespaces:
  description: What was dumped (estimates in check mode).
  returned: success
  type: list
  elements: dict
  contains:
    ns:
      description: The namespace.
      type: str
    type:
      description: collection, view or timeseries.
      type: str
    documents:
      description: Documents written.
      type: int
    bytes:
      description: BSON bytes written (before compression).
      type: int
documents:
  description: Documents written in total (oplog entries not included).
  returned: success
  type: int
  sample: 5000
oplog:
  description: The oplog window with O(consistency=oplog) (C(first) and C(last) as C({t, i}) timestamps), else null.
  returned: success
  type: dict
  sample: {first: {t: 1700000000, i: 1}, last: {t: 1700000042, i: 3}, count: 17}
started_at:
  description: When the dump started (ISO 8601 UTC).
  returned: success
  type: str
  sample: "2026-11-25T19:23:20.591465Z"
finished_at:
  description: When the dump finished (ISO 8601 UTC).
  returned: success
  type: str
  sample: "2026-11-25T19:23:20.700800Z"
backup_id:
  description: The catalog id of the new backup.
  returned: when O(bucket) is set
  type: str
  sample: 20261125T031500Z
archive_key:
  description: The S3 key of the archive object.
  returned: when O(bucket) is set
  type: str
  sample: mongodb/rs0/20261125T031500Z/archive.zst
manifest_key:
  description: The S3 key of the manifest, written last.
  returned: when O(bucket) is set
  type: str
  sample: mongodb/rs0/20261125T031500Z/manifest.json
manifest:
  description: The manifest as stored (see the manifest page of the collection's docs).
  returned: when O(bucket) is set and not in check mode
  type: dict
aborted_uploads:
  description:
    - Unfinished multipart uploads of this set that runs which died left behind (untouched for 15 minutes), aborted
      before this dump started. A backup still running is never touched.
  returned: when O(bucket) is set and not in check mode
  type: list
  elements: dict
  sample: [{"key": "mongodb/rs0/20261124T031500Z/mongodump.archive.zst", "upload_id": "abc",
            "initiated": "2026-11-24T03:15:00Z"}]
pruned:
  description:
    - With O(bucket) and a keep_* rule, what pruning the set after the upload did (C(kept), C(removed),
      C(aborted_uploads), C(unreadable), C(oplog), as M(offsite.mongodb.s3_backup_archive) returns them for
      O(offsite.mongodb.s3_backup_archive#module:mode=prune)).
    - Null in check mode, without a rule, or when pruning failed (then a warning says why; the backup is stored).
  returned: when O(bucket) is set
  type: dict
  sample: {changed: true, kept: [{"backup_id": "20261125T031500Z", "reasons": ["keep_daily (2026-11-25)"]}],
           removed: [{"backup_id": "20261001T031500Z", "reason": "not kept by any keep_* rule"}]}
duration_seconds:
  description: How long the dump took.
  returned: success
  type: float
  sample: 12.5
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    CATALOG_STORAGE,
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
    RETENTION,
    S3_CONNECTION,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.dump import run_dump_task
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import FALLBACK_WARNING
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            # connect_timeout is in both connection specs: one option serves MongoDB and S3.
            {**S3_CONNECTION, **CATALOG_STORAGE, **MONGO_CONNECTION},
            dest=dict(type="path"),
            bucket=dict(type="str"),
            set_name=dict(type="str"),
            backup_id=dict(type="str"),
            labels=dict(type="dict"),
            compression=dict(type="str", choices=["gzip", "zstd", "none"], default="gzip"),
            compression_level=dict(type="int"),
            consistency=dict(type="str", choices=["none", "lock", "oplog", "snapshot"], default="none"),
            databases=dict(type="list", elements="str"),
            include=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str"),
            query=dict(type="dict"),
            parallel_collections=dict(type="int", default=4),
            engine=dict(type="str", choices=["auto", "native", "mongodump"], default="auto"),
            mongodump_path=dict(type="path"),
            force=dict(type="bool", default=False),
            stale_uploads_after=dict(type="str", default="15m"),
            **RETENTION,
        ),
        mutually_exclusive=[*MONGO_MUTUALLY_EXCLUSIVE, ["dest", "bucket"]],
        required_one_of=[["dest", "bucket"]],
        required_by={"bucket": "set_name"},
        required_together=[["object_lock_mode", "object_lock_days"]],
        supports_check_mode=True,
    )
    try:
        result = run_dump_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    for warning in [*(result.pop("warnings", None) or []), FALLBACK_WARNING]:
        if warning:
            module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
