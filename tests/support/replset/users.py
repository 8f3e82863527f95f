"""Users and roles as MongoDB stores them: documents in ``admin.system.users`` / ``admin.system.roles``.

Shapes (manual, "system.users Collection", "system.roles Collection"): a user is ``{_id:
"<db>.<user>", userId: UUID, user, db, credentials: {SCRAM-SHA-256: {...}}, roles: [{role,
db}]}``; a role is ``{_id: "<db>.<role>", role, db, privileges, roles}``. They are ordinary
documents here, so a dump sees them and every change is in the oplog. ``admin.system.version``
holds ``{_id: "authSchema", currentVersion: 5}`` (mongo-tools ``common/auth/auth_info.go``).
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

import bson

from .catalog import Store, id_key, new_uuid
from .errors import CommandError
from .scram import make_credentials
from .wire import CODEC

USERS, ROLES, VERSION = "system.users", "system.roles", "system.version"


def find_user(store: Store, db: str, user: str) -> Optional[Dict[str, Any]]:
    coll = store.get("admin", USERS)
    raw = coll.docs.get(id_key(f"{db}.{user}")) if coll else None
    return bson.decode(raw, CODEC) if raw else None


def role_refs(roles: Any, db: str) -> List[Dict[str, str]]:
    """``["read", {role, db}]`` → ``[{role, db}]`` (a bare name means a role of ``db``)."""
    if not isinstance(roles, list):
        raise CommandError(2, "roles must be an array")
    out = []
    for role in roles:
        if isinstance(role, str):
            out.append({"role": role, "db": db})
        elif isinstance(role, dict) and "role" in role and "db" in role:
            out.append({"role": role["role"], "db": role["db"]})
        else:
            raise CommandError(2, f"bad role {role!r}: give a name or {{role, db}}")
    return out


def add_user(
    store: Store, db: str, user: str, password: str, roles: Any, *, extra: Optional[Dict[str, Any]] = None
) -> None:
    if find_user(store, db, user) is not None:
        raise CommandError(51003, f'User "{user}@{db}" already exists')
    doc = {
        "_id": f"{db}.{user}",
        "userId": new_uuid(),
        "user": user,
        "db": db,
        "credentials": {"SCRAM-SHA-256": make_credentials(password)},
        "roles": role_refs(roles, db),
        **(extra or {}),
    }
    store.insert(store.ensure("admin", USERS), doc)


def bootstrap(store: Store, admin_user: str, admin_password: str) -> None:
    """What an initiated set with auth holds: the auth schema version and the first root user."""
    version = store.ensure("admin", VERSION)
    store.insert(version, {"_id": "featureCompatibilityVersion", "version": "7.0"})
    store.insert(version, {"_id": "authSchema", "currentVersion": 5})
    add_user(store, "admin", admin_user, admin_password, [{"role": "root", "db": "admin"}])
