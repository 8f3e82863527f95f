#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: point-in-time recovery, the oplog part: plan from the catalog, replay archived slices to a point."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_oplog_replay
short_description: Replay the archived oplog from the S3 catalog on top of a restored base backup, up to a point in time
version_added: 0.2.0
description:
  - Plans a point-in-time recovery of a set from the catalog. The base is the newest complete backup taken with
    C(consistency=oplog) whose oplog end lies at or before the target; the slices that
    M(offsite.mongodb.mongo_oplog_archive) wrote carry it from there to the target.
  - A target the archived oplog cannot reach (a gap, or not archived yet) fails before anything is written, naming
    the newest reachable point.
  - In check mode the module only plans. It reads the catalog, needs no MongoDB connection, and returns the base
    backup to restore (restore it with M(offsite.mongodb.mongo_restore_archive) and O(offsite.mongodb.mongo_restore_archive#module:oplog_replay=true)).
  - Otherwise it replays, on the node it connects to, the slices from the base's oplog end up to and including the
    target, one slice at a time, streamed from S3 (download, decompress, C(applyOps) in batches), and reports the
    exact point reached. Each slice's SHA-256 is checked at its end.
  - The restore role (M(offsite.mongodb.restore) with C(restore_to_time)) runs the three steps.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  bucket:
    description: The S3 bucket of the catalog.
    type: str
    required: true
  set_name:
    description: The set in the catalog.
    type: str
    required: true
  to:
    description:
      - The point to recover to. An ISO 8601 UTC time (V(2026-11-27T17:05:30Z)) includes every entry of that second.
        An oplog timestamp V(seconds:increment) (V(1795799130:4)) includes exactly the entries up to that one.
      - V(latest) or empty means the newest point the archive reaches.
    type: str
    default: latest
  backup_id:
    description:
      - The base backup to start from. Empty means choose the newest one that reaches O(to).
      - Give the one the check-mode plan returned, so the replay continues from the backup that was restored.
    type: str
  include:
    description: Replay only entries of these namespaces (patterns as in M(offsite.mongodb.mongo_restore_archive)).
    type: list
    elements: str
  exclude:
    description: Skip entries of these namespaces.
    type: list
    elements: str
extends_documentation_fragment:
  - offsite.mongodb.mongo
  - offsite.mongodb.s3
attributes:
  check_mode:
    description: Plans only; reads the catalog, writes nothing, needs no MongoDB connection.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
notes:
  - Restore the base backup first, with oplog replay, into an empty target (or with drop). This module does not
    restore it.
  - Entries are applied as mongorestore C(--oplogReplay) applies them. No-ops and config, local and admin system
    entries are skipped, and collection UUIDs are not kept.
seealso:
  - module: offsite.mongodb.mongo_oplog_archive
  - module: offsite.mongodb.mongo_restore_archive
"""

EXAMPLES = r"""
- name: Plan the recovery to 17:05:30 (refused here, before any write, when unreachable)
  offsite.mongodb.mongo_oplog_replay:
    bucket: mongodb-backups
    set_name: rs0
    to: "2026-11-27T17:05:30Z"
  check_mode: true
  register: pitr_plan

- name: Replay the archived oplog on top of the restored base
  offsite.mongodb.mongo_oplog_replay:
    login_user: restore
    login_password: "{{ mongodb_restore_password }}"
    bucket: mongodb-backups
    set_name: rs0
    to: "2026-11-27T17:05:30Z"
    backup_id: "{{ pitr_plan.backup_id }}"
  register: replayed
"""

RETURN = r"""
backup_id:
  description: The base backup the recovery starts from.
  returned: always
  type: str
  sample: 20261127T170000Z
plan:
  description: The base backup, its oplog end, the slices to replay and how far the chain reaches.
  returned: always
  type: dict
target:
  description: The target as a position (an ISO time becomes the last increment of its second).
  returned: always
  type: dict
  sample: {ts: "1795799130:4294967295", time: "2026-11-27T17:05:30Z", t: 1795799130, i: 4294967295}
windows:
  description: The set's recoverable windows (from, to), oldest first.
  returned: always
  type: list
  elements: dict
gaps:
  description: Breaks in the set's archived oplog (from, to, reason).
  returned: always
  type: list
  elements: dict
reached:
  description: The exact point the database now stands at, the last entry applied or passed, or the base's end.
  returned: when not in check mode
  type: dict
  sample: {ts: "1795799130:2", time: "2026-11-27T17:05:30Z", t: 1795799130, i: 2}
slices_applied:
  description: The slices read.
  returned: when not in check mode
  type: list
  elements: str
entries_applied:
  description: Oplog entries applied.
  returned: when not in check mode
  type: int
namespaces:
  description: Entries applied per namespace.
  returned: when not in check mode
  type: dict
  sample: {shop.orders: 51}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
    S3_CONNECTION,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.oplog_replay import run_oplog_replay_task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            {**S3_CONNECTION, **MONGO_CONNECTION},
            bucket=dict(type="str", required=True),
            set_name=dict(type="str", required=True),
            to=dict(type="str", default="latest"),
            backup_id=dict(type="str"),
            include=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str"),
        ),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        result = run_oplog_replay_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
