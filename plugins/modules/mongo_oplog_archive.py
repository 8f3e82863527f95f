#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: archive a replica set's oplog into the S3 catalog, one slice per run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_oplog_archive
short_description: Archive a replica set's oplog into the S3 backup catalog, one slice per run
version_added: 0.2.0
description:
  - Copies the oplog entries the set wrote since the last archived position up to the majority commit point into one
    new slice of the catalog, C(<prefix>/<set_name>/oplog/<first>-<last>/), beside the set's backups. Run it every
    few minutes (the M(offsite.mongodb.oplog_archive) role installs a systemd timer) to make every second between
    the oldest kept base backup and the last run recoverable with M(offsite.mongodb.mongo_oplog_replay).
  - Only majority-committed entries are archived, so a rollback cannot take back what a slice holds.
  - The entries stream through the compressor into a multipart upload (bounded memory, no local disk); the SHA-256
    and count are computed on the way and the slice's C(manifest.json) is written last. A run killed part way leaves
    no slice; the next run removes what it left and continues from the last complete slice.
  - The first run of a set starts at the end of its newest backup taken with O(offsite.mongodb.mongo_dump_archive#module:consistency=oplog) of
    M(offsite.mongodb.mongo_dump_archive), or at the current majority point when there is none.
  - A break is never papered over. When the oplog rolled over past the last archived position, or a rollback removed
    or rewrote the entry there, the run records a gap marker in the catalog and fails; take a new base backup and
    the next run continues from its end.
  - Nothing new since the last run means C(changed=false).
author:
  - offsite.mongodb maintainers (@offsite)
options:
  bucket:
    description: The S3 bucket of the catalog.
    type: str
    required: true
  set_name:
    description:
      - The set in the catalog. Empty means the replica set name the node reports (what the backup role uses).
    type: str
  compression:
    description: How slices are compressed. V(gzip) and V(zstd) are those of M(offsite.mongodb.mongo_dump_archive).
    type: str
    choices: [gzip, zstd, none]
    default: zstd
  compression_level:
    description: The compression level (gzip 0-9, zstd -7-22). Unset means the default of the compression.
    type: int
extends_documentation_fragment:
  - offsite.mongodb.mongo
  - offsite.mongodb.s3
  - offsite.mongodb.s3_storage
attributes:
  check_mode:
    description: Reports the slice a run would write (first and last entry, count) and what it would clean up.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
notes:
  - Run one archiver per set. Point it at a data-bearing member (a hidden secondary is a good choice); its oplog must
    cover the archiving interval with room to spare.
  - The user needs read access to C(local.oplog.rs) and C(clusterMonitor) (for C(replSetGetStatus)), for example
    the C(backup) role.
seealso:
  - module: offsite.mongodb.mongo_oplog_replay
  - module: offsite.mongodb.mongo_dump_archive
  - module: offsite.mongodb.s3_backup_archive_info
"""

EXAMPLES = r"""
- name: Archive the oplog written since the last run
  offsite.mongodb.mongo_oplog_archive:
    login_user: backup
    login_password: "{{ mongodb_backup_password }}"
    bucket: mongodb-backups
  register: archived

- name: Show how far the archive reaches
  ansible.builtin.debug:
    msg: "Archived up to {{ archived.position.time }} ({{ archived.slice.count | default(0) }} new entries)"

- name: What would the next run archive?
  offsite.mongodb.mongo_oplog_archive:
    uri: "mongodb://backup@db3.example.net:27017/?directConnection=true"
    bucket: mongodb-backups
    set_name: rs0
  check_mode: true
"""

RETURN = r"""
set_name:
  description: The set in the catalog.
  returned: always
  type: str
  sample: rs0
slice:
  description: The slice written (in check mode, the one that would be); null when nothing was new.
  returned: always
  type: dict
  sample:
    folder: "1795799207.0000000001-1795799207.0000000052"
    key: mongodb-backups/rs0/oplog/1795799207.0000000001-1795799207.0000000052/oplog.bson.zst
    first: {ts: "1795799207:1", time: "2026-11-27T17:06:47Z", t: 1795799207, i: 1}
    last: {ts: "1795799207:52", time: "2026-11-27T17:06:47Z", t: 1795799207, i: 52}
    after: {ts: "1795799206:101", time: "2026-11-27T17:06:46Z", t: 1795799206, i: 101}
    count: 52
    size: 554
    sha256: 96c5eb38ddc8daa57cb08097925f01bac844c5b324524b1630b0c99066d41016
start:
  description: Where the run continued from (C(after) null means a new chain at the majority point) and why.
  returned: always
  type: dict
  sample: {after: {ts: "1795799206:101", time: "2026-11-27T17:06:46Z"}, from: "slice 1795799206.0000000101-1795799206.0000000101"}
position:
  description: The last archived position after the run (null before the first slice).
  returned: always
  type: dict
  sample: {ts: "1795799207:52", time: "2026-11-27T17:06:47Z", t: 1795799207, i: 52}
majority:
  description: The majority commit point the run archived up to.
  returned: always
  type: dict
lag_seconds:
  description: Seconds between the last archived entry and the end of the run.
  returned: always
  type: float
  sample: 1.2
cleaned_folders:
  description: Slice folders without manifest (left by killed runs) that were removed.
  returned: always
  type: list
  elements: str
aborted_uploads:
  description: Keys of unfinished slice uploads (left by killed runs) that were aborted.
  returned: always
  type: list
  elements: str
duration_seconds:
  description: How long the run took.
  returned: always
  type: float
bucket:
  description: The bucket.
  returned: always
  type: str
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    CATALOG_STORAGE,
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
    S3_CONNECTION,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.oplog_archive import (
    run_oplog_archive_task,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            {**S3_CONNECTION, **CATALOG_STORAGE, **MONGO_CONNECTION},
            bucket=dict(type="str", required=True),
            set_name=dict(type="str"),
            compression=dict(type="str", choices=["gzip", "zstd", "none"], default="zstd"),
            compression_level=dict(type="int"),
        ),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        required_together=[["object_lock_mode", "object_lock_days"]],
        supports_check_mode=True,
    )
    try:
        result = run_oplog_archive_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
