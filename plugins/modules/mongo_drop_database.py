#!/usr/bin/python
# Copyright: offsite.mongodb contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ansible module: drop whole MongoDB databases, such as the scratch copies of a restore drill."""

from __future__ import annotations

DOCUMENTATION = r"""
module: mongo_drop_database
short_description: Drop whole MongoDB databases, such as the scratch copies of a restore drill
version_added: 0.1.0
description:
  - Drops each named database that exists; databases that do not exist are reported and left alone.
  - The system databases C(admin), C(local) and C(config) are never dropped.
  - The verify role uses it to remove the scratch databases its restore drill wrote.
author:
  - offsite.mongodb maintainers (@offsite)
options:
  names:
    description:
      - The databases to drop.
    type: list
    elements: str
    required: true
extends_documentation_fragment:
  - offsite.mongodb.mongo
attributes:
  check_mode:
    description: Reports which databases would be dropped without dropping them.
    support: full
  diff_mode:
    description: Returns no diff.
    support: none
notes:
  - The user needs the C(dropDatabase) privilege on each database (built-in roles C(dbAdmin), C(restore) or C(root)).
seealso:
  - module: offsite.mongodb.mongo_restore_archive
"""

EXAMPLES = r"""
- name: Remove the scratch databases of a restore drill
  offsite.mongodb.mongo_drop_database:
    names:
      - offsite_drill_shop
      - offsite_drill_crm
"""

RETURN = r"""
dropped:
  description: The databases that were dropped (or would be, in check mode).
  returned: always
  type: list
  elements: str
  sample: [offsite_drill_shop]
absent:
  description: Named databases that did not exist.
  returned: always
  type: list
  elements: str
  sample: [offsite_drill_crm]
"""

import traceback

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    MONGO_MUTUALLY_EXCLUSIVE,
)
from ansible_collections.offsite.mongodb.plugins.module_utils._tasks.drop_database import run_drop_task
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError


def main() -> None:
    module = AnsibleModule(
        argument_spec=dict(MONGO_CONNECTION, names=dict(type="list", elements="str", required=True)),
        mutually_exclusive=MONGO_MUTUALLY_EXCLUSIVE,
        supports_check_mode=True,
    )
    try:
        result = run_drop_task(module.params, module.check_mode)
    except OffsiteError as error:
        module.fail_json(msg=str(error), exception=traceback.format_exc())
    module.exit_json(**result)


if __name__ == "__main__":
    main()
