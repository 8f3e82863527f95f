"""Login (saslStart/saslContinue with SCRAM-SHA-256) and the user and role commands a restore needs.

``_mergeAuthzCollections`` follows mongorestore's use (mongo-tools ``mongorestore/metadata.go``
``RestoreUsersOrRoles``; replica-set-facts.md §6) and the server's behaviour as its jstest for
the command checks it (mongodb/mongo jstests, "Tests the behavior of the _mergeAuthzCollections
command"): users and roles of the temp collections (all of them for ``db: ""``, else those of
``db``) are added; with ``drop: true`` the ones of that scope missing from the temp collections
are removed and existing ones replaced, without it existing ones are kept unchanged. An arbiter holds no users, so a login
there fails (AuthenticationFailed, 18), as on MongoDB.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from . import scram
from .catalog import Collection, Store, id_key
from .errors import CommandError
from .registry import Call, command
from .users import ROLES, USERS, add_user, find_user, role_refs

AUTH_FAILED = "Authentication failed."


def _payload(call: Call) -> str:
    payload = call.command.get("payload", b"")
    return bytes(payload).decode("utf-8") if isinstance(payload, (bytes, bytearray)) else str(payload)


@command("saslStart", auth=False)
def sasl_start(call: Call) -> Dict[str, Any]:
    client_first = _payload(call)
    try:
        user = scram.client_user(client_first)
    except (ValueError, IndexError):
        raise CommandError(18, AUTH_FAILED) from None
    doc = find_user(call.store, call.db, user) if call.member.data_bearing else None
    if doc is None:
        raise CommandError(18, AUTH_FAILED)  # UserNotFound is only logged, as on MongoDB
    mechanism = call.command.get("mechanism")
    credentials = doc.get("credentials", {}).get(scram.MECHANISM)
    if mechanism != scram.MECHANISM or credentials is None:
        raise CommandError(
            334, f"Received authentication for mechanism {mechanism} which is unknown or not enabled"
        )
    conversation = scram.Conversation.start(client_first, credentials)
    call.connection.conversation = conversation
    call.connection.conversation_user = (call.db, user)
    call.connection.skip_empty = bool((call.command.get("options") or {}).get("skipEmptyExchange"))
    return {"conversationId": 1, "done": False, "payload": conversation.server_first.encode(), "ok": 1.0}


@command("saslContinue", auth=False)
def sasl_continue(call: Call) -> Dict[str, Any]:
    conn = call.connection
    if conn.conversation is None:
        if conn.conversation_user is not None and conn.conversation_user in conn.users:
            conn.conversation_user = None  # the empty last step of the long conversation
            return {"conversationId": 1, "done": True, "payload": b"", "ok": 1.0}
        raise CommandError(18, AUTH_FAILED)
    server_final = conn.conversation.finish(_payload(call))
    conn.conversation = None
    if server_final is None or conn.conversation_user is None:
        conn.conversation_user = None
        raise CommandError(18, AUTH_FAILED)
    conn.users.add(conn.conversation_user)
    done = conn.skip_empty
    return {"conversationId": 1, "done": done, "payload": server_final.encode(), "ok": 1.0}


@command("logout")
def logout(call: Call) -> Dict[str, Any]:
    call.connection.users.clear()
    return {"ok": 1.0}


@command("connectionStatus", auth=False)
def connection_status(call: Call) -> Dict[str, Any]:
    users = [{"user": user, "db": db} for db, user in sorted(call.connection.users)]
    roles = []
    for db, user in sorted(call.connection.users):
        roles.extend((find_user(call.store, db, user) or {}).get("roles", []))
    return {"authInfo": {"authenticatedUsers": users, "authenticatedUserRoles": roles}, "ok": 1.0}


@command("createUser", kind="write")
def create_user(call: Call) -> Dict[str, Any]:
    password = call.command.get("pwd")
    if not isinstance(password, str):
        raise CommandError(
            2,
            "Must provide a 'pwd' field for all user documents, except those with '$external' as the user's source db",
        )
    extra = {"customData": call.command["customData"]} if "customData" in call.command else {}
    add_user(
        call.store, call.db, call.collection_name(), password, call.command.get("roles", []), extra=extra
    )
    return {"ok": 1.0}


@command("dropUser", kind="write")
def drop_user(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    coll = call.store.get("admin", USERS)
    if coll is None or not call.store.delete(coll, f"{call.db}.{name}"):
        raise CommandError(11, f"User '{name}@{call.db}' not found")
    return {"ok": 1.0}


@command("createRole", kind="write")
def create_role(call: Call) -> Dict[str, Any]:
    name, db = call.collection_name(), call.db
    coll = call.store.ensure("admin", ROLES)
    if id_key(f"{db}.{name}") in coll.docs:
        raise CommandError(51002, f'Role "{name}@{db}" already exists')
    doc = {
        "_id": f"{db}.{name}",
        "role": name,
        "db": db,
        "privileges": call.command.get("privileges", []),
        "roles": role_refs(call.command.get("roles", []), db),
    }
    call.store.insert(coll, doc)
    return {"ok": 1.0}


@command("dropRole", kind="write")
def drop_role(call: Call) -> Dict[str, Any]:
    name = call.collection_name()
    coll = call.store.get("admin", ROLES)
    if coll is None or not call.store.delete(coll, f"{call.db}.{name}"):
        raise CommandError(31, f"Role '{name}@{call.db}' not found")
    return {"ok": 1.0}


def _wanted(argument: Any, db: str, key: str) -> Optional[List[tuple]]:
    """``usersInfo``/``rolesInfo`` argument → (db, name) pairs; ``None`` = every one of ``db``."""
    if argument == 1 or (isinstance(argument, dict) and argument.get("forAllDBs")):
        return None
    items = argument if isinstance(argument, list) else [argument]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((db, item))
        elif isinstance(item, dict) and key in item:
            out.append((item.get("db", db), item[key]))
        else:
            raise CommandError(2, f"give a name or {{{key}, db}}, not {item!r}")
    return out


def _select(
    coll: Optional[Collection], wanted: Optional[List[tuple]], db: str, all_dbs: bool, key: str
) -> List[Dict[str, Any]]:
    docs = coll.decoded() if coll else []
    if wanted is None:
        return [d for d in docs if all_dbs or d.get("db") == db]
    pairs = set(wanted)
    return [d for d in docs if (d.get("db"), d.get(key)) in pairs]


@command("usersInfo")
def users_info(call: Call) -> Dict[str, Any]:
    argument = call.target
    all_dbs = isinstance(argument, dict) and bool(argument.get("forAllDBs"))
    docs = _select(
        call.store.get("admin", USERS), _wanted(argument, call.db, "user"), call.db, all_dbs, "user"
    )
    users = []
    for doc in docs:
        out = {k: doc[k] for k in ("_id", "userId", "user", "db", "customData") if k in doc}
        out["roles"] = doc.get("roles", [])
        out["mechanisms"] = list(doc.get("credentials", {}))
        if call.command.get("showCredentials"):
            out["credentials"] = doc.get("credentials", {})
        users.append(out)
    return {"users": users, "ok": 1.0}


@command("rolesInfo")
def roles_info(call: Call) -> Dict[str, Any]:
    docs = _select(
        call.store.get("admin", ROLES), _wanted(call.target, call.db, "role"), call.db, False, "role"
    )
    roles = []
    for doc in docs:
        out = {"_id": doc["_id"], "role": doc["role"], "db": doc["db"], "isBuiltin": False}
        out.update(roles=doc.get("roles", []), inheritedRoles=doc.get("roles", []))
        if call.command.get("showPrivileges"):
            out.update(privileges=doc.get("privileges", []), inheritedPrivileges=doc.get("privileges", []))
        roles.append(out)
    return {"roles": roles, "ok": 1.0}


@command("_mergeAuthzCollections", kind="write")
def merge_authz_collections(call: Call) -> Dict[str, Any]:
    if call.db != "admin":
        raise CommandError(13, "_mergeAuthzCollections may only be run against the admin database")
    scope = call.command.get("db", "")
    drop = bool(call.command.get("drop", False))
    for key, target in (("tempUsersCollection", USERS), ("tempRolesCollection", ROLES)):
        source_ns = call.command.get(key)
        if source_ns:
            _merge(call.store, str(source_ns), target, scope, drop)
    return {"ok": 1.0}


def _merge(store: Store, source_ns: str, target: str, scope: str, drop: bool) -> None:
    source_db, _unused, source_name = source_ns.partition(".")
    source = store.get(source_db, source_name)
    incoming = [d for d in (source.decoded() if source else []) if not scope or d.get("db") == scope]
    dest = store.ensure("admin", target)
    keys = {id_key(doc["_id"]) for doc in incoming}
    if drop:
        for doc in dest.decoded():
            if (not scope or doc.get("db") == scope) and id_key(doc["_id"]) not in keys:
                store.delete(dest, doc["_id"])
    for doc in incoming:
        if id_key(doc["_id"]) not in dest.docs:
            store.insert(dest, doc)
        elif drop:
            store.write(dest, copy.deepcopy(doc), doc)
