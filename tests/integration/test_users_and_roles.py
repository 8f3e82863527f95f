"""Users and roles, end to end: dumped with the whole deployment, restored with users_and_roles into a second
replica set, the users log in there with their own passwords and get the rights their roles give."""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import quote_plus

import pytest
from pymongo import MongoClient
from pymongo.errors import OperationFailure

from ansible_collections.offsite.mongodb.plugins.module_utils.dump import dump_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.dump_plan import DumpPlan
from ansible_collections.offsite.mongodb.plugins.module_utils.restore import restore_archive
from ansible_collections.offsite.mongodb.plugins.module_utils.restore_plan import RestorePlan


def login(replica_set, user: str, password: str, source: str) -> MongoClient:
    uri = f"mongodb://{quote_plus(user)}:{quote_plus(password)}@{replica_set.host('primary')}/"
    return MongoClient(uri, directConnection=True, authSource=source, serverSelectionTimeoutMS=5000)


def test_restored_users_log_in_with_their_passwords(replica_set, make_replica_set, tmp_path):
    database = f"app_{uuid.uuid4().hex[:8]}"
    reader_password = secrets.token_urlsafe(12)
    writer_password = secrets.token_urlsafe(12)
    with replica_set.client("primary") as admin:
        admin[database].things.insert_many([{"_id": i} for i in range(10)])
        admin[database].command(
            "createRole", "thingsWriter", privileges=[
                {"resource": {"db": database, "collection": "things"}, "actions": ["find", "insert"]}
            ], roles=[],
        )  # fmt: skip
        admin[database].command(
            "createUser", "reader", pwd=reader_password, roles=[{"role": "read", "db": database}]
        )
        admin.admin.command(
            "createUser",
            f"writer_{database}",
            pwd=writer_password,
            roles=[{"role": "thingsWriter", "db": database}],
        )

    archive = tmp_path / "whole.archive"
    with replica_set.client("hidden") as client, archive.open("wb") as sink:
        report = dump_archive(client, sink, DumpPlan(consistency="oplog", where="hidden"))
    dumped = {item.ns for item in report.namespaces}
    assert {"admin.system.users", "admin.system.roles", f"{database}.things"} <= dumped

    target = make_replica_set(set_name="rs-users", admin_user="target-root")
    with target.client("primary") as client, archive.open("rb") as source:
        restore_archive(
            client, source, RestorePlan(users_and_roles=True, include=[f"{database}.*"], where="target")
        )

    with login(target, "reader", reader_password, database) as reader:
        assert reader[database].things.count_documents({}) == 10
    with login(target, f"writer_{database}", writer_password, "admin") as writer:
        writer[database].things.insert_one({"_id": "written by a restored user"})
        assert writer[database].things.count_documents({}) == 11
    with pytest.raises(OperationFailure), login(target, "reader", "wrong-password", database) as wrong:
        wrong[database].things.count_documents({})

    # The users carry their roles, the custom role its privileges (the stand-in authenticates but does not
    # enforce privileges, so the grants are read back rather than tried).
    with target.client("primary") as client:
        users = client[database].command("usersInfo", "reader")["users"]
        assert users[0]["roles"] == [{"role": "read", "db": database}]
        writer_info = client.admin.command("usersInfo", f"writer_{database}")["users"]
        assert writer_info[0]["roles"] == [{"role": "thingsWriter", "db": database}]
        role = client[database].command("rolesInfo", "thingsWriter", showPrivileges=True)["roles"][0]
        assert sorted(role["privileges"][0]["actions"]) == ["find", "insert"]
        # The target's own administrator survives the merge (this client logged in as it).
        assert client.admin.command("usersInfo", "target-root")["users"]
