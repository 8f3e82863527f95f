#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: lock or unlock MongoDB writes with fsync, guarded by a lease."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_fsync_lock
short_description: Flush MongoDB to disk and block writes, or release that lock, with a lease as a safety net
version_added: 0.1.0
description:
  - Takes an fsync lock (C(fsync) with C(lock=true)) so that a file-level or dump-based backup sees a consistent
    image, or releases it (C(fsyncUnlock)).
  - MongoDB counts fsync locks and resumes writes only when the count is zero. O(state=unlocked) therefore releases
    every lock and reports how many it released.
  - O(lease_seconds) starts a detached watchdog on the managed host that releases the lock when the lease runs out,
    unless O(state=unlocked) ran first or the lease was renewed. A controller that dies or loses the network between
    lock and unlock can no longer leave the database write-locked.
  - Works on a standalone server, a replica-set member (lock a secondary for backups) and a mongos of MongoDB 7.0.2 or
    newer (which locks the whole sharded cluster). It refuses an arbiter and an older mongos with a clear message.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  state:
    description:
      - V(locked) flushes and blocks writes; on a node that is already locked it changes nothing unless O(nested=true).
      - V(unlocked) releases every fsync lock; on a node that is not locked it changes nothing.
    type: str
    choices: [locked, unlocked]
    default: locked
  nested:
    description:
      - With O(state=locked), take one more nested lock even when the node is already locked.
    type: bool
    default: false
  lease_seconds:
    description:
      - With O(state=locked), release the lock automatically after this many seconds unless O(state=unlocked) ran
        first. Running O(state=locked) again with O(lease_seconds) renews the lease from that moment.
      - The watchdog connects and authenticates before the lock is taken, runs detached from Ansible, and keeps the
        lease in a file of mode 0600 under O(lease_dir). Credentials are passed to it in memory only.
      - Without it, a lock stays until something unlocks it.
    type: int
  lease_dir:
    description:
      - Directory for lease files and the watchdog's log (created with mode 0700).
      - Defaults to C(offsite-mongodb-leases-<uid>) in the system's temporary directory.
    type: path
extends_documentation_fragment:
  - offsite.mongodb.mongo
attributes:
  check_mode:
    description: Can run in check mode and predict the change without modifying the node.
    support: full
    details: Reads the lock state from C(currentOp) and reports what would change without touching the node.
  diff_mode:
    description: Returns no diff.
    support: none
seealso:
  - name: fsync command
    description: MongoDB's reference for the fsync lock and its lock count.
    link: https://www.mongodb.com/docs/manual/reference/command/fsync/
  - name: fsyncUnlock command
    description: MongoDB's reference for releasing the lock.
    link: https://www.mongodb.com/docs/manual/reference/command/fsyncUnlock/
notes:
  - The user needs the C(fsync) and C(unlock) privileges (built-in roles C(hostManager) or C(clusterManager)).
  - Hold the lock only for as long as the dump takes; upload the archive after unlocking.
  - Reading the exact lock count means taking (and at once releasing) a nested lock, so in check mode RV(lock_count)
    counts only what C(currentOp) shows (one for a locked node).
"""

EXAMPLES = r"""
- name: Lock a secondary for at most 30 minutes
  offsite.mongodb.mongo_fsync_lock:
    login_host: localhost
    login_user: backup
    login_password: "{{ mongodb_backup_password }}"
    state: locked
    lease_seconds: 1800

- name: Release every fsync lock
  offsite.mongodb.mongo_fsync_lock:
    login_user: backup
    login_password: "{{ mongodb_backup_password }}"
    state: unlocked

- name: Lock, dump and always unlock
  block:
    - name: Lock with a lease
      offsite.mongodb.mongo_fsync_lock:
        state: locked
        lease_seconds: 3600
    - name: Dump while locked
      offsite.mongodb.mongo_dump_archive:
        dest: /var/backups/mongodb/nightly.archive.gz
  always:
    - name: Unlock
      offsite.mongodb.mongo_fsync_lock:
        state: unlocked

- name: Connection settings once for every task of the collection
  module_defaults:
    group/offsite.mongodb.mongodb:
      uri: "{{ mongodb_uri }}"
  block:
    - name: Lock
      offsite.mongodb.mongo_fsync_lock:
        state: locked
        lease_seconds: 600
"""

RETURN = r"""
locked:
  description: Whether the node holds an fsync lock after the task.
  returned: always
  type: bool
  sample: true
lock_count:
  description: MongoDB's fsync lock count after the task (zero when unlocked).
  returned: always
  type: int
  sample: 1
released:
  description: How many fsync locks O(state=unlocked) released; null in check mode.
  returned: when O(state=unlocked)
  type: int
  sample: 2
lease_expires_at:
  description: When the lease releases the lock (ISO 8601, UTC), or null when no lease guards it.
  returned: always
  type: str
  sample: "2026-11-25T03:30:00+00:00"
lease_file:
  description: The lease file for this node on the managed host.
  returned: always
  type: str
  sample: /tmp/offsite-mongodb-leases-0/fsync-lease-3f2a9c0d4e5b6a7c8d9e.json
node:
  description: The node the task acted on.
  returned: always
  type: dict
  contains:
    kind:
      description: V(standalone), V(primary), V(secondary), V(mongos) or V(other).
      type: str
      sample: secondary
    version:
      description: The server version.
      type: str
      sample: 7.0.12
    set_name:
      description: The replica set name, or null for a standalone or mongos.
      type: str
      sample: rs0
    hidden:
      description: Whether the node is a hidden replica-set member.
      type: bool
      sample: false
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.fsync_lock import run_lock_task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            MONGO_CONNECTION,
            state=dict(type="str", choices=["locked", "unlocked"], default="locked"),
            nested=dict(type="bool", default=False),
            lease_seconds=dict(type="int"),
            lease_dir=dict(type="path"),
        ),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        result = run_lock_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
