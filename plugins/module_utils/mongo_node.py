"""What a connected MongoDB node is: standalone, replica-set member (which role), or mongos, and its version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.server_version import (
    Version,
    from_build_info,
    version_text,
)


@dataclass(frozen=True)
class NodeInfo:
    """What kind of node a client is talking to."""

    kind: str  # standalone | primary | secondary | arbiter | mongos | other
    version: Version
    set_name: Optional[str] = None
    hidden: bool = False

    @property
    def version_string(self) -> str:
        return version_text(self.version)

    @property
    def is_replica_set_member(self) -> bool:
        return self.kind in ("primary", "secondary", "other")


def read_node(client: Any) -> NodeInfo:
    """The connected node's role (from ``hello``) and server version (from ``buildInfo``)."""
    hello = client.admin.command("hello")
    build = client.admin.command("buildInfo")
    return NodeInfo(
        kind=node_kind(hello),
        version=from_build_info(build),
        set_name=hello.get("setName"),
        hidden=bool(hello.get("hidden")),
    )


def node_kind(hello: Mapping[str, Any]) -> str:
    """The role a ``hello`` reply describes (hidden members and others report ``other`` or ``secondary``)."""
    if hello.get("msg") == "isdbgrid":
        return "mongos"
    if hello.get("arbiterOnly"):
        return "arbiter"
    if hello.get("setName"):
        if hello.get("isWritablePrimary") or hello.get("ismaster"):
            return "primary"
        return "secondary" if hello.get("secondary") else "other"
    return "standalone"
