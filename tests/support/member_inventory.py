"""An inventory with one host per replica-set member, each with its own connection in host vars."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict, Optional

import yaml


def write_member_inventory(path: Path, replica_set: Any, group_vars: Optional[Dict[str, Any]] = None) -> Path:
    """Hosts ``rs-<member>`` in group ``mongodb``; the set's name and ``group_vars`` as group vars.

    The arbiter gets an anonymous connection (it holds no users); ``connect_timeout`` is short so a
    stopped member is reported unreachable quickly.
    """
    hosts = {}
    for name in replica_set.members:
        uri = replica_set.anonymous_uri(name) if name == "arbiter" else replica_set.member_uri(name)
        hosts[f"rs-{name}"] = {"offsite_mongodb_connection": {"uri": uri, "connect_timeout": 2}}
    variables = {
        "ansible_connection": "local",
        "ansible_python_interpreter": sys.executable,
        "backup_set_name": replica_set.set_name,
        **(group_vars or {}),
    }
    path.write_text(yaml.safe_dump({"all": {"children": {"mongodb": {"hosts": hosts, "vars": variables}}}}))
    return path
