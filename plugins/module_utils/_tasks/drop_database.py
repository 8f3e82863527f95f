"""The ``mongo_drop_database`` task: drop whole databases (a drill's scratch copies); system databases refused."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Sequence

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import (
    connect,
    connection_options,
    mongo_errors,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import SYSTEM_DATABASES


def run_drop_task(params: Mapping[str, Any], check_mode: bool) -> Dict[str, Any]:
    """The module result for ``names``."""
    options = connection_options(params)
    client = connect(options)
    try:
        with mongo_errors(options, "drop databases"):
            return drop_databases(client, params.get("names") or [], check_mode=check_mode)
    finally:
        client.close()


def drop_databases(client: Any, names: Sequence[str], check_mode: bool = False) -> Dict[str, Any]:
    """Drop the named databases that exist; returns ``changed``, ``dropped`` and ``absent`` (already gone)."""
    wanted = list(dict.fromkeys(name.strip() for name in names))
    protected = [name for name in wanted if name in SYSTEM_DATABASES]
    if protected or "" in wanted:
        raise OffsiteError(
            f"refusing to drop {', '.join(protected) or 'an empty database name'}: "
            "name only the databases to drop (admin, local and config are never dropped)"
        )
    existing = set(client.list_database_names())
    dropped: List[str] = [name for name in wanted if name in existing]
    if not check_mode:
        for name in dropped:
            client.drop_database(name)
    return {
        "changed": bool(dropped),
        "dropped": dropped,
        "absent": [name for name in wanted if name not in existing],
    }
