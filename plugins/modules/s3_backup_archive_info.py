#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: list the backups of an S3 backup catalog."""

from __future__ import annotations

DOCUMENTATION = r"""
module: s3_backup_archive_info
short_description: List the MongoDB backups of an S3 backup catalog, newest first
version_added: 0.2.0
description:
  - Lists the backups under C(<prefix>/<set_name>/) in an S3 (or S3-compatible) bucket, newest first, with what each
    manifest records (size, SHA-256, namespaces and document counts, consistency, labels).
  - A backup without a manifest is listed with RV(backups[].complete=false). A backup whose manifest cannot be read
    says why in RV(backups[].problem).
  - Objects under the prefix that are not backups of this collection (foreign or malformed keys) are never touched;
    they are reported in RV(foreign_keys).
  - Replaces O(offsite.mongodb.s3_backup_archive#module:mode=list), which is deprecated.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  bucket:
    description:
      - The S3 bucket that holds the backup catalog.
    type: str
    required: true
  set_name:
    description:
      - Only the backups of this set (the replica set or host name). Unset lists every set.
    type: str
  since:
    description:
      - Only backups taken at or after this time. An ISO 8601 time (C(2026-11-23T10:00:00Z), C(2026-11-23)),
        a backup id, or a duration ago (C(12h), C(7d)).
    type: str
  until:
    description:
      - Only backups taken at or before this time (same formats as O(since)).
    type: str
extends_documentation_fragment:
  - offsite.mongodb.s3
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
seealso:
  - module: offsite.mongodb.s3_backup_archive
"""

EXAMPLES = r"""
- name: The catalog of set rs0
  offsite.mongodb.s3_backup_archive_info:
    bucket: acme-mongodb-backups
    set_name: rs0
  register: catalog

- name: Show the newest complete backup
  ansible.builtin.debug:
    msg: "{{ (catalog.backups | selectattr('complete') | first).backup_id }}"
"""

RETURN = r"""
backups:
  description: The catalog, newest first; incomplete backups have RV(backups[].complete=false).
  returned: always
  type: list
  elements: dict
  contains:
    backup_id:
      description: The backup id.
      type: str
      sample: 20261123T101500Z
    set_name:
      description: The set the backup belongs to.
      type: str
      sample: rs0
    created:
      description: When the backup was taken (from its id), ISO 8601 UTC.
      type: str
      sample: "2026-11-23T10:15:00Z"
    size:
      description: The archive's size in bytes (for incomplete backups, the bytes stored so far).
      type: int
      sample: 1048576
    sha256:
      description: The archive's SHA-256, null for incomplete backups.
      type: str
      sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
    complete:
      description: Whether the backup has its manifest.
      type: bool
      sample: true
    namespaces:
      description: Per-namespace counts from the manifest (C(ns), C(type), C(documents), C(bytes)).
      type: list
      elements: dict
      sample: [{"ns": "shop.orders", "type": "collection", "documents": 1200, "bytes": 480000}]
    documents:
      description: The number of documents in the backup, when the manifest records it.
      type: int
      sample: 1200
    consistency:
      description: >-
        How consistent the backup is, as its manifest records it - C(oplog), C(lock), C(snapshot) or C(none)
        (absent for incomplete backups).
      type: str
      sample: oplog
    writes_held_seconds:
      description: >-
        For C(lock) backups taken by the backup role, how long the node held writes (from the lock request to the
        unlock, an upper bound); null otherwise.
      type: float
      sample: 2.4
    labels:
      description: The labels stored with the backup.
      type: dict
      sample: {"reason": "nightly"}
    archive_key:
      description: The key of the archive object (null for incomplete backups).
      type: str
      sample: mongodb-backups/rs0/20261123T101500Z/mongodump.archive.gz
    problem:
      description: Why a backup that has a manifest is still not usable (for example a damaged manifest).
      type: str
      sample: manifest.json is not valid JSON
foreign_keys:
  description: Keys under the prefix that are not backups of this collection; they are left alone.
  returned: always
  type: list
  elements: str
  sample: ["mongodb-backups/rs0/notes.txt"]
oplog:
  description:
    - Per set with an archived oplog (M(offsite.mongodb.mongo_oplog_archive)), what point-in-time recovery can reach.
    - C(windows) are the recoverable windows (from a base backup's oplog end to the end of the unbroken slices after
      it), oldest first. C(gaps) are the breaks (recorded rollovers and rollbacks, or missing slices).
    - C(slices), C(entries), C(first) and C(last) describe the slices. C(incomplete) lists slice folders left without
      a manifest by killed runs.
  returned: always
  type: dict
  sample:
    rs0:
      windows: [{from: {ts: "1795799207:2", time: "2026-11-27T17:06:47Z"}, to: {ts: "1795799507:9", time: "2026-11-27T17:11:47Z"}}]
      gaps: []
      slices: 2
      entries: 53
      incomplete: []
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import S3_CONNECTION
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.catalog_info import list_catalog
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            S3_CONNECTION,
            bucket=dict(type="str", required=True),
            set_name=dict(type="str"),
            since=dict(type="str"),
            until=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    try:
        result = list_catalog(module.params)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
