#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: restore a mongodump archive file into MongoDB."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_restore_archive
short_description: Restore a mongodump archive (gzip, zstd or plain) into MongoDB, verified and in parallel
version_added: 0.1.0
description:
  - Reads mongodump's C(--archive) format, whatever wrote it (this collection or stock mongodump), detecting the
    compression from the magic bytes. Every namespace's CRC is checked.
  - Creates collections with their options, inserts the raw documents in parallel batches, builds indexes after the
    data, creates views after their sources, then replays the oplog and merges users and roles when asked.
  - Safety; without O(drop), restoring into a collection that already holds documents fails before anything is
    written, and the message lists those collections.
  - A corrupt archive (bad magic, truncated, CRC mismatch, bad metadata JSON) fails with one line naming the
    namespace and the byte offset; the result's RV(namespaces) then says which were restored completely.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  src:
    description:
      - The archive file.
    type: path
    required: true
  sha256:
    description:
      - The expected SHA-256 of O(src) (hex). It is checked before anything is written.
    type: str
  drop:
    description:
      - Drop each target collection before restoring it.
    type: bool
    default: false
  include:
    description:
      - Namespace patterns to restore (C(sales.*), C(*.orders)); matched against the names in the archive.
    type: list
    elements: str
  exclude:
    description:
      - Namespace patterns to leave out.
    type: list
    elements: str
  ns_from:
    description:
      - Rename patterns, paired with O(ns_to) in order, in mongorestore's syntax; C(*) and C($name$) capture.
    type: list
    elements: str
  ns_to:
    description:
      - Target patterns for O(ns_from), for example C(archive.*) for C(sales.*).
    type: list
    elements: str
  oplog_replay:
    description:
      - Replay the oplog held by the archive (written with O(offsite.mongodb.mongo_dump_archive#module:consistency=oplog))
        after all collections are restored.
    type: bool
    default: false
  users_and_roles:
    description:
      - Restore the admin users and roles the archive holds (merged as mongorestore does).
    type: bool
    default: false
  parallel_collections:
    description:
      - How many collections are restored at once.
    type: int
    default: 4
  insertion_workers:
    description:
      - Insert workers per collection. Each sends unordered C(insert) commands of at most 8 MiB and 10,000
        documents; a command whose connection is lost or whose primary steps down is sent again (up to twice), and
        on a resend a duplicate key is a document the lost attempt had already inserted, so it counts as restored.
      - More workers help when the server is the bound (they wait on it concurrently); the client's own work per
        document runs one thread at a time.
    type: int
    default: 1
  write_concern:
    description:
      - The write concern of the inserts, for example C(majority) or C(2). Default is the server's.
    type: str
  engine:
    description:
      - V(native) is this collection's engine; V(mongorestore) runs the MongoDB Database Tools with the same
        safety checks (the password goes into a private config file, never onto a command line). V(auto) chooses
        the native engine.
    type: str
    choices: [auto, native, mongorestore]
    default: auto
  mongorestore_path:
    description:
      - The mongorestore executable for O(engine=mongorestore). Default is C(mongorestore) from C(PATH).
    type: path
requirements:
  - zstandard >= 0.22 on the host that runs the module (for zstd archives)
  - fastcrc >= 0.3 on the host that runs the module (fast CRC-64; without it a slow pure-Python CRC is used, with a warning)
  - isal >= 1.7 on the host that runs the module (fast gzip decompression; without it the slower stdlib zlib is used)
extends_documentation_fragment:
  - offsite.mongodb.mongo
attributes:
  check_mode:
    description: Reads and verifies the whole archive and lists what would be restored; does not connect or write.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
seealso:
  - module: offsite.mongodb.mongo_dump_archive
"""

EXAMPLES = r"""
- name: Restore a nightly archive into empty collections, verified against its digest
  offsite.mongodb.mongo_restore_archive:
    src: /var/backups/mongodb/nightly.archive.gz
    sha256: "{{ backup.sha256 }}"

- name: Replace the shop database and replay the oplog captured by the dump
  offsite.mongodb.mongo_restore_archive:
    src: /var/backups/mongodb/shop.archive.zst
    include: ["shop.*"]
    drop: true
    oplog_replay: true

- name: Restore sales into another database
  offsite.mongodb.mongo_restore_archive:
    src: /tmp/sales.archive
    ns_from: ["sales.*"]
    ns_to: ["sales_copy.*"]
"""

RETURN = r"""
src:
  description: The archive file.
  returned: success
  type: str
  sample: /var/backups/mongodb/nightly.archive.gz
sha256:
  description: SHA-256 of the archive file as read (hex).
  returned: success
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
verified:
  description: Whether the whole archive was read with every CRC (and O(sha256), when given) matching.
  returned: success
  type: bool
  sample: true
namespaces:
  description: Each restored namespace (also returned on failure, to show what was restored completely).
  returned: always
  type: list
  elements: dict
  contains:
    ns:
      description: The target namespace.
      type: str
    source:
      description: The namespace in the archive.
      type: str
    documents:
      description: Documents inserted.
      type: int
    failed:
      description: Documents the server refused.
      type: int
    archive_documents:
      description: Documents the archive holds for it.
      type: int
    complete:
      description: Whether the namespace was read to its end and restored.
      type: bool
documents:
  description: Documents inserted in total (in check mode, documents in the archive).
  returned: success
  type: int
  sample: 5000
counts_match:
  description: Whether every namespace got exactly as many documents as the archive holds.
  returned: success
  type: bool
  sample: true
dropped:
  description: Collections dropped before restoring.
  returned: success
  type: list
  elements: str
  sample: [shop.orders]
oplog_entries_applied:
  description: Oplog entries replayed.
  returned: success
  type: int
  sample: 0
duration_seconds:
  description: How long the restore took.
  returned: success
  type: float
  sample: 3.2
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.restore import run_restore_task
from ansible_collections.offsite.mongodb.plugins.module_utils.checksum import FALLBACK_WARNING
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import RestoreFailed


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(
            MONGO_CONNECTION,
            src=dict(type="path", required=True),
            sha256=dict(type="str"),
            drop=dict(type="bool", default=False),
            include=dict(type="list", elements="str"),
            exclude=dict(type="list", elements="str"),
            ns_from=dict(type="list", elements="str"),
            ns_to=dict(type="list", elements="str"),
            oplog_replay=dict(type="bool", default=False),
            users_and_roles=dict(type="bool", default=False),
            parallel_collections=dict(type="int", default=4),
            insertion_workers=dict(type="int", default=1),
            write_concern=dict(type="str"),
            engine=dict(type="str", choices=["auto", "native", "mongorestore"], default="auto"),
            mongorestore_path=dict(type="path"),
        ),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        required_together=[["ns_from", "ns_to"]],
        supports_check_mode=True,
    )
    if FALLBACK_WARNING:
        module.warn(FALLBACK_WARNING)
    try:
        result = run_restore_task(module.params, module.check_mode)
    except RestoreFailed as failure:
        module.fail_json(msg=str(failure), exception=traceback.format_exc(), **failure.report.to_result())
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
