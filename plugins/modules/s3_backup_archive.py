#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: the S3 backup catalog (put, get, list, delete, prune)."""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_backup_archive
short_description: Store, fetch, list, delete and prune MongoDB backups in an S3 backup catalog
version_added: 0.1.0
description:
  - Keeps a catalog of backup archives in an S3 (or S3-compatible) bucket. Each backup lives under
    C(<prefix>/<set_name>/<backup_id>/) as the archive object and a C(manifest.json) that describes it.
  - The manifest is written last. A backup without a manifest is incomplete; O(mode=list) shows it as such,
    O(mode=get) never picks it as the latest, and O(mode=prune) removes it once a newer complete backup exists.
  - Uploads and downloads run as parallel multipart transfers; the part size grows so that any archive S3 accepts
    fits in 10,000 parts. The archive's SHA-256 is computed during the upload and checked during the download.
  - A failed upload is aborted, so it leaves no parts and no manifest. Nothing stored is ever overwritten.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  bucket:
    description:
      - The S3 bucket that holds the backup catalog. It must exist.
    type: str
    required: true
  mode:
    description:
      - V(put) uploads O(src) and then its manifest. When any O(keep_last), O(keep_hourly), ... rule is set, the set
        is then pruned with those rules as by V(prune) (one task instead of two); see RV(pruned).
      - V(get) downloads a backup's archive to O(dest), verifying its SHA-256.
      - V(list) returns the catalog, newest first. Deprecated (removed in 2.0.0), use
        M(offsite.mongodb.s3_backup_archive_info).
      - V(delete) deletes one backup (O(backup_id)), or every backup of O(set_name) with O(confirm_delete_all=true).
      - V(prune) applies the retention rules (O(keep_last), O(keep_hourly), O(keep_daily), O(keep_weekly),
        O(keep_monthly), O(keep_yearly), O(keep_within)) and cleans up incomplete backups and abandoned uploads.
    type: str
    required: true
    choices: [put, get, list, delete, prune]
  set_name:
    description:
      - What was backed up, usually the replica set name or the host name. One key segment
        (letters, digits, C(.), C(_), C(-)).
      - Required for every mode but V(list), where it limits the listing to one set.
    type: str
  src:
    description:
      - With O(mode=put), the local archive file to upload.
    type: path
  dest:
    description:
      - With O(mode=get), where to write the archive. An existing directory receives a file named after the archive
        object. The file appears only once its SHA-256 matched the manifest.
    type: path
  backup_id:
    description:
      - The backup to act on; ids are UTC timestamps such as C(20261123T101500Z), optionally with a C(-suffix).
      - With O(mode=put), the id to store the backup as. Unset means the time in C(started_at) of O(metadata), or now.
      - With O(mode=get), V(latest) (the default) picks the newest complete backup, before O(before) when set.
      - With O(mode=delete), the backup to delete; leave unset and set O(confirm_delete_all) to delete every backup
        of the set.
    type: str
  before:
    description:
      - With O(mode=get) and O(backup_id=latest), pick the newest complete backup taken before this time.
      - An ISO 8601 time (C(2026-11-23T10:00:00Z), C(2026-11-23)), a backup id, or a duration ago (C(12h), C(7d)).
    type: str
  since:
    description:
      - With O(mode=list), only backups taken at or after this time (same formats as O(before)).
    type: str
  until:
    description:
      - With O(mode=list), only backups taken at or before this time (same formats as O(before)).
    type: str
  confirm_delete_all:
    description:
      - With O(mode=delete) and no O(backup_id), confirm that every backup of O(set_name) is to be deleted.
    type: bool
    default: false
  metadata:
    description:
      - With O(mode=put), what the manifest records about the backup; pass the whole result of
        M(offsite.mongodb.mongo_dump_archive) (C(started_at), C(finished_at), C(server_version), C(consistency),
        C(oplog), C(engine), C(compression), C(namespaces), C(documents), C(sha256) and so on).
      - Keys the manifest has no field for are kept under its C(metadata) field.
    type: dict
  labels:
    description:
      - With O(mode=put), free-form labels stored in the manifest and shown by O(mode=list).
    type: dict
  stale_uploads_after:
    description:
      - With O(mode=put), before its own upload, aborts the unfinished multipart uploads of the same set that runs which died
        left behind, recognised by having been untouched (no new part) for this long. A backup still running sends
        parts every few seconds and is never touched.
      - A duration such as C(15m), C(2h) or C(90s).
    type: str
    default: 15m
  sha256:
    description:
      - With O(mode=put), the expected SHA-256 of O(src). A mismatch fails the task before any manifest is written.
    type: str
  keep_last:
    description:
      - With O(mode=prune) or O(mode=put), keep the N newest complete backups. V(-1) keeps all.
    type: int
  keep_hourly:
    description:
      - With O(mode=prune) or O(mode=put), keep the newest backup of each of the last N hours that have backups.
        V(-1) keeps one per hour without limit.
    type: int
  keep_daily:
    description:
      - With O(mode=prune) or O(mode=put), keep the newest backup of each of the last N days (UTC) that have backups.
    type: int
  keep_weekly:
    description:
      - With O(mode=prune) or O(mode=put), keep the newest backup of each of the last N ISO weeks that have backups.
    type: int
  keep_monthly:
    description:
      - With O(mode=prune) or O(mode=put), keep the newest backup of each of the last N months that have backups.
    type: int
  keep_yearly:
    description:
      - With O(mode=prune) or O(mode=put), keep the newest backup of each of the last N years that have backups.
    type: int
  keep_within:
    description:
      - With O(mode=prune) or O(mode=put), keep every backup taken within this duration of the newest backup, for
        example C(7d), C(12h), C(2w).
    type: str
  abandoned_after:
    description:
      - With O(mode=prune), abort unfinished multipart uploads started longer ago than this, and remove incomplete
        backups newer than the newest complete one once untouched that long.
    type: str
    default: 1d
requirements:
  - zstandard >= 0.22 on the host that runs the module (for zstd archives)
  - fastcrc >= 0.3 on the host that runs the module (fast CRC-64; without it a slow pure-Python CRC is used, with a warning)
  - isal >= 1.7 on the host that runs the module (fast gzip decompression; without it the slower stdlib zlib is used)
extends_documentation_fragment:
  - offsite.mongodb.s3
  - offsite.mongodb.s3_storage
attributes:
  check_mode:
    description: Can run in check mode and report what would change without changing anything.
    support: full
    details: Check mode reads the catalog and reports the same result, including what O(mode=prune) would remove.
  diff_mode:
    description: Returns no diff.
    support: none
seealso:
  - name: Manifest schema
    description: The fields of manifest.json.
    link: https://github.com/offsite/mongodb/blob/main/docs/docsite/rst/manifest.rst
  - name: restic forget
    description: The retention rules this module combines the same way.
    link: https://restic.readthedocs.io/en/stable/060_forget.html
notes:
  - The credentials need C(s3:ListBucket), C(s3:GetObject), C(s3:PutObject), C(s3:DeleteObject),
    C(s3:ListBucketMultipartUploads) and C(s3:AbortMultipartUpload) on the bucket and prefix.
  - O(mode=put) is idempotent; when the same archive (same SHA-256) is already stored as that backup, it reports no
    change. Another archive under the same backup id fails and nothing is overwritten.
  - O(mode=get) is idempotent; when O(dest) already holds the archive (same SHA-256), it reports no change.
"""

EXAMPLES = r"""
- name: Upload a dump and its manifest
  offsite.mongodb.s3_backup_archive:
    mode: put
    bucket: acme-backups
    region: eu-west-1
    set_name: rs0
    src: /var/backups/mongodb/rs0.archive.gz
    sha256: "{{ dump.sha256 }}"
    metadata: "{{ dump }}"
    labels:
      reason: nightly
    storage_class: STANDARD_IA
    encryption: "aws:kms"
  register: uploaded

- name: Download the newest complete backup taken before a point in time
  offsite.mongodb.s3_backup_archive:
    mode: get
    bucket: acme-backups
    set_name: rs0
    backup_id: latest
    before: "2026-11-23T06:00:00Z"
    dest: /var/tmp/restore/

- name: List the catalog of a MinIO bucket
  offsite.mongodb.s3_backup_archive:
    mode: list
    bucket: backups
    endpoint_url: https://minio.example.com:9000
    ca_bundle: /etc/pki/minio-ca.pem
    set_name: rs0
    since: 30d
  register: catalog

- name: Keep 7 daily, 5 weekly and 12 monthly backups (dry run in check mode)
  offsite.mongodb.s3_backup_archive:
    mode: prune
    bucket: acme-backups
    set_name: rs0
    keep_daily: 7
    keep_weekly: 5
    keep_monthly: 12

- name: Delete one backup
  offsite.mongodb.s3_backup_archive:
    mode: delete
    bucket: acme-backups
    set_name: rs0
    backup_id: 20261123T101500Z

- name: Delete every backup of a decommissioned set
  offsite.mongodb.s3_backup_archive:
    mode: delete
    bucket: acme-backups
    set_name: old-rs
    confirm_delete_all: true
"""

RETURN = r"""
backup_id:
  description: The backup that was stored, fetched or (in check mode) would be stored.
  returned: when O(mode=put) or O(mode=get)
  type: str
  sample: 20261123T101500Z
manifest:
  description: The backup's manifest (see the manifest schema document); empty for O(mode=put) in check mode.
  returned: when O(mode=put) or O(mode=get)
  type: dict
  sample: {"schema_version": 1, "backup_id": "20261123T101500Z", "set_name": "rs0"}
archive_key:
  description: The key of the archive object.
  returned: when O(mode=put)
  type: str
  sample: mongodb-backups/rs0/20261123T101500Z/mongodump.archive.gz
manifest_key:
  description: The key of the manifest object.
  returned: when O(mode=put)
  type: str
  sample: mongodb-backups/rs0/20261123T101500Z/manifest.json
size:
  description: The archive's size in bytes.
  returned: when O(mode=put)
  type: int
  sample: 1048576
sha256:
  description: The archive's SHA-256 (for O(mode=put) in check mode, the expected one when known).
  returned: when O(mode=put) or O(mode=get)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
dest:
  description: The local file the archive was written to.
  returned: when O(mode=get)
  type: str
  sample: /var/tmp/restore/mongodump.archive.gz
verified:
  description: Whether the file at RV(dest) has the manifest's SHA-256 (false in check mode before a download).
  returned: when O(mode=get)
  type: bool
  sample: true
backups:
  description:
    - The catalog, newest first (the deprecated O(mode=list)); each element is described by the
      RV(offsite.mongodb.s3_backup_archive_info#module:backups) return value of M(offsite.mongodb.s3_backup_archive_info).
  returned: when O(mode=list)
  type: list
  elements: dict
  sample: [{"backup_id": "20261123T101500Z", "set_name": "rs0", "complete": true, "size": 1048576}]
foreign_keys:
  description: Keys under the prefix that are not backups of this collection; they are left alone.
  returned: when O(mode=list) or O(mode=prune)
  type: list
  elements: str
  sample: ["mongodb-backups/rs0/notes.txt"]
oplog:
  description:
    - What prune did to the set's archived oplog. It keeps every slice needed to reach any point from the oldest
      kept base backup to now (and always the newest slice) and deletes older slices (C(removed_slices)), gap markers
      wholly before that backup (C(removed_gaps)) and slice folders without a manifest (C(removed_incomplete)).
    - C(windows) are the recoverable windows that remain (in check mode, that would remain).
  returned: when O(mode=prune)
  type: dict
  sample: {removed_slices: ["1795790000.0000000001-1795790300.0000000007"], removed_gaps: [], removed_incomplete: [],
           windows: [{from: {ts: "1795799207:2"}, to: {ts: "1795799507:9"}}]}
unreadable:
  description:
    - Backups prune left alone although no rule keeps them, because their manifest cannot be read (damaged, or not
      written by this collection); each with the problem. Inspect and delete them by hand.
  returned: when O(mode=prune)
  type: list
  elements: dict
  sample: [{"backup_id": "20261001T101500Z", "problem": "manifest.json is not valid JSON"}]
deleted:
  description: The backup ids deleted (or that would be deleted in check mode).
  returned: when O(mode=delete)
  type: list
  elements: str
  sample: ["20261123T101500Z"]
deleted_keys:
  description: The object keys deleted (or that would be deleted in check mode).
  returned: when O(mode=delete)
  type: list
  elements: str
  sample: ["mongodb-backups/rs0/20261123T101500Z/manifest.json"]
pruned:
  description:
    - With O(mode=put) and a keep_* rule, what pruning the set after the upload did (C(kept), C(removed),
      C(aborted_uploads), C(unreadable), C(oplog), as O(mode=prune) returns them).
    - Null in check mode, without a rule, or when pruning failed; the backup is stored either way, and a failed
      prune is reported as a warning (the next run prunes).
  returned: when O(mode=put)
  type: dict
  sample: {changed: true, kept: [{"backup_id": "20261123T101500Z", "reasons": ["keep_last"]}],
           removed: [{"backup_id": "20261001T101500Z", "reason": "not kept by any keep_* rule"}]}
kept:
  description: The backups prune keeps, each with every rule that keeps it.
  returned: when O(mode=prune)
  type: list
  elements: dict
  sample: [{"backup_id": "20261123T101500Z", "reasons": ["newest complete backup (always kept)", "keep_daily (2026-11-23)"]}]
removed:
  description: The backups prune deleted (or would delete in check mode), each with the rule that decided.
  returned: when O(mode=prune)
  type: list
  elements: dict
  sample: [{"backup_id": "20261001T101500Z", "reason": "not kept by any keep_* rule"}]
aborted_uploads:
  description:
    - Unfinished multipart uploads aborted (or that would be aborted in check mode).
    - With O(mode=put), the uploads of this set that runs which died left behind (untouched for 15 minutes); a
      backup still running is never touched.
  returned: when O(mode=prune), O(mode=delete) or O(mode=put)
  type: list
  elements: dict
  sample: [{"key": "mongodb-backups/rs0/20261123T101500Z/mongodump.archive.gz", "upload_id": "abc",
            "initiated": "2026-11-22T10:15:00Z"}]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    CATALOG_STORAGE,
    RETENTION,
    S3_CONNECTION,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog import run_catalog_task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

LIST_DEPRECATION = (
    "s3_backup_archive mode=list is deprecated and will be removed in 2.0.0: "
    "use offsite.mongodb.s3_backup_archive_info instead"
)


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            S3_CONNECTION,
            **CATALOG_STORAGE,
            bucket=dict(type="str", required=True),
            mode=dict(type="str", required=True, choices=["put", "get", "list", "delete", "prune"]),
            set_name=dict(type="str"),
            src=dict(type="path"),
            dest=dict(type="path"),
            backup_id=dict(type="str"),
            before=dict(type="str"),
            since=dict(type="str"),
            until=dict(type="str"),
            confirm_delete_all=dict(type="bool", default=False),
            metadata=dict(type="dict"),
            labels=dict(type="dict"),
            sha256=dict(type="str"),
            stale_uploads_after=dict(type="str", default="15m"),
            **RETENTION,
            abandoned_after=dict(type="str", default="1d"),
        ),
        required_if=[
            ("mode", "put", ["set_name", "src"]),
            ("mode", "get", ["set_name", "dest"]),
            ("mode", "delete", ["set_name"]),
            ("mode", "prune", ["set_name"]),
        ],
        required_together=[["object_lock_mode", "object_lock_days"]],
        supports_check_mode=True,
    )
    if module.params["mode"] == "list":
        module.deprecate(LIST_DEPRECATION, version="2.0.0", collection_name="offsite.mongodb")
    try:
        result = run_catalog_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    for warning in result.pop("warnings", None) or []:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
