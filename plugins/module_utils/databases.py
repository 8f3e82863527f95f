"""Dropping whole databases (the restore drill's scratch copies), with the system databases protected."""

from __future__ import annotations

from typing import Any, Dict, List, Sequence

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

PROTECTED = ("admin", "local", "config")


def drop_databases(client: Any, names: Sequence[str], check_mode: bool = False) -> Dict[str, Any]:
    """Drop the named databases that exist; returns ``changed``, ``dropped`` and ``absent`` (already gone)."""
    wanted = list(dict.fromkeys(name.strip() for name in names))
    protected = [name for name in wanted if name in PROTECTED]
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
