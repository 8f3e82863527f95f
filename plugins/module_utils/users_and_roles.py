"""Users and roles restored the way mongorestore does it: temporary collections, then ``_mergeAuthzCollections``.

mongo-tools mongorestore/metadata.go ``RestoreUsersOrRoles``: the dump's documents go into
``admin.tempusers`` / ``admin.temproles``, one command merges them, the temporary collections go.
"""

from __future__ import annotations

from typing import Any, List

try:
    from bson.raw_bson import RawBSONDocument
    from bson.son import SON
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    RawBSONDocument = SON = None

TEMP_USERS, TEMP_ROLES = "tempusers", "temproles"


def merge_users_and_roles(client: Any, users: List[bytes], roles: List[bytes], drop: bool) -> None:
    """Restore users and roles the way mongorestore does: temporary collections, then _mergeAuthzCollections."""
    admin = client.admin
    for name, docs in ((TEMP_USERS, users), (TEMP_ROLES, roles)):
        admin.drop_collection(name)
        if docs:
            admin[name].insert_many([RawBSONDocument(d) for d in docs])
    try:
        admin.command(
            SON(
                [
                    ("_mergeAuthzCollections", 1),
                    ("tempUsersCollection", f"admin.{TEMP_USERS}"),
                    ("tempRolesCollection", f"admin.{TEMP_ROLES}"),
                    ("db", ""),
                    ("drop", drop),
                ]
            )
        )
    finally:
        admin.drop_collection(TEMP_USERS)
        admin.drop_collection(TEMP_ROLES)
