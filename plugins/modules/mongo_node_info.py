#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: what a MongoDB node is, whether it is locked, its oplog window and replication lag."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_node_info
short_description: Tell what a MongoDB node is, whether it is fsync-locked, its oplog window and its lag
version_added: 0.2.0
description:
  - Reads, and never changes, what a backup needs to know about one node. Its kind (standalone, primary,
    secondary, arbiter, mongos or other), the replica set name, whether it is hidden, the server version,
    whether it holds an fsync lock, the oplog window of a replica-set member and the replication lag of a
    secondary.
  - The backup roles use it to choose the node to back up and the consistency mode.
  - Facts the user may not read (C(currentOp), C(local.oplog.rs), C(replSetGetStatus)) are returned as null.
author:
  - offsite.mongodb maintainers (@offsite)
extends_documentation_fragment:
  - offsite.mongodb.mongo
attributes:
  check_mode:
    description: Reads only; runs the same in check mode.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
seealso:
  - module: offsite.mongodb.mongo_fsync_lock
  - module: offsite.mongodb.mongo_dump_archive
"""

EXAMPLES = r"""
- name: Learn what the node is
  offsite.mongodb.mongo_node_info:
    login_user: backup
    login_password: "{{ mongodb_backup_password }}"
  register: node

- name: Refuse to back up a primary
  ansible.builtin.assert:
    that: node.node.kind != 'primary'
    fail_msg: "{{ inventory_hostname }} is the primary"
"""

RETURN = r"""
node:
  description: The node.
  returned: always
  type: dict
  contains:
    kind:
      description: V(standalone), V(primary), V(secondary), V(arbiter), V(mongos) or V(other).
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
    locked:
      description: Whether the node holds an fsync lock (null when C(currentOp) is not allowed).
      type: bool
      sample: false
    oplog:
      description: The oplog window of a replica-set member (null for others, or when not readable).
      type: dict
      sample: {"first": "2026-11-20T03:00:00Z", "last": "2026-11-27T03:00:00Z", "hours": 168.0}
    lag_seconds:
      description: How far a secondary trails the primary, in seconds (null for other kinds).
      type: float
      sample: 0.0
    address:
      description: Where the module connected, without credentials.
      type: str
      sample: localhost:27017
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.node_info import run_node_info_task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(MONGO_CONNECTION),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        result = run_node_info_task(module.params)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
