"""A node's kind from its hello reply, and its version from buildInfo, as one NodeInfo."""

from __future__ import annotations

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_node import NodeInfo, node_kind, read_node


@pytest.mark.parametrize(
    ("hello", "kind"),
    [
        ({"ismaster": True}, "standalone"),
        ({"msg": "isdbgrid", "ismaster": True}, "mongos"),
        ({"setName": "rs0", "isWritablePrimary": True}, "primary"),
        ({"setName": "rs0", "secondary": True}, "secondary"),
        ({"setName": "rs0", "arbiterOnly": True}, "arbiter"),
        ({"setName": "rs0"}, "other"),
    ],
)
def test_node_kind_from_hello(hello, kind):
    assert node_kind(hello) == kind


class _Admin:
    def __init__(self, replies):
        self.replies = replies
        self.asked = []

    def command(self, name):
        self.asked.append(name)
        return self.replies[name]


class _Client:
    def __init__(self, replies):
        self.admin = _Admin(replies)


def test_read_node_combines_hello_and_build_info():
    client = _Client(
        {
            "hello": {"setName": "rs0", "secondary": True, "hidden": True},
            "buildInfo": {"version": "7.0.14", "versionArray": [7, 0, 14, 0]},
        }
    )
    node = read_node(client)
    assert node == NodeInfo(kind="secondary", version=(7, 0, 14), set_name="rs0", hidden=True)
    assert node.version_string == "7.0.14"
    assert node.is_replica_set_member
    assert client.admin.asked == ["hello", "buildInfo"]


def test_standalone_and_mongos_are_not_replica_set_members():
    assert not NodeInfo("standalone", (7, 0, 0)).is_replica_set_member
    assert not NodeInfo("mongos", (7, 0, 0)).is_replica_set_member
    assert NodeInfo("other", (7, 0, 0), set_name="rs0").is_replica_set_member
