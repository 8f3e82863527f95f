"""A client that answers ``admin.command`` from a table: for logic that needs one reply, not a server."""

from __future__ import annotations

from typing import Any, Dict, List, Optional


class FakeAdmin:
    """``command`` returns (or raises) the reply scripted for the command's name and records each command."""

    def __init__(self, replies: Dict[str, Any]) -> None:
        self.replies = replies
        self.commands: List[Any] = []

    def command(self, command, *args, **kwargs):
        self.commands.append(command)
        reply = self.replies.get(next(iter(command)) if isinstance(command, dict) else command)
        if isinstance(reply, Exception):
            raise reply
        return reply


class FakeClient:
    def __init__(self, replies: Optional[Dict[str, Any]] = None) -> None:
        self.admin = FakeAdmin(replies or {})
