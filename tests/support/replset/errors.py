"""MongoDB's command error shape: ``{ok: 0, errmsg, code, codeName}``.

Codes and names are MongoDB's (server ``src/mongo/base/error_codes.yml``; the manual's "Error
Codes" page); the ones the Go tools and pymongo react to are listed in
``/work/shared/docs/replica-set-facts.md`` §7.
"""

from __future__ import annotations

from typing import Any, Dict

CODE_NAMES = {
    1: "InternalError",
    2: "BadValue",
    9: "FailedToParse",
    11: "UserNotFound",
    13: "Unauthorized",
    14: "TypeMismatch",
    18: "AuthenticationFailed",
    20: "IllegalOperation",
    26: "NamespaceNotFound",
    28: "PathNotViable",
    27: "IndexNotFound",
    31: "RoleNotFound",
    43: "CursorNotFound",
    48: "NamespaceExists",
    59: "CommandNotFound",
    66: "ImmutableField",
    72: "InvalidOptions",
    73: "InvalidNamespace",
    85: "IndexOptionsConflict",
    136: "CappedPositionLost",
    166: "CommandNotSupportedOnView",
    239: "SnapshotTooOld",
    263: "OperationNotSupportedInTransaction",
    334: "MechanismUnavailable",
    352: "UnsupportedOpQueryCommand",
    10107: "NotWritablePrimary",
    11000: "DuplicateKey",
    13435: "NotPrimaryNoSecondaryOk",
    13436: "NotPrimaryOrSecondary",
    40323: "Location40323",
    40324: "Location40324",
    51002: "Location51002",
    51003: "Location51003",
}


class CommandError(Exception):
    """A command failed; ``reply()`` is the error document MongoDB sends for it."""

    def __init__(self, code: int, errmsg: str) -> None:
        super().__init__(errmsg)
        self.code = code
        self.errmsg = errmsg

    def reply(self) -> Dict[str, Any]:
        return {
            "ok": 0.0,
            "errmsg": self.errmsg,
            "code": self.code,
            "codeName": CODE_NAMES.get(self.code, "UnknownError"),
        }
