"""Stand-ins for logic that needs one reply, not a server: a client answering from a table, a tool binary."""

from __future__ import annotations

from pathlib import Path
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


def stand_in_tool(directory: Path, name: str) -> Path:
    """An executable named like a Database Tools binary (``mongodump``, ``mongorestore``) that does nothing."""
    tool = directory / name
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    return tool
