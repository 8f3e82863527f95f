"""Update documents: ``$set``, ``$unset``, ``$inc``, ``$setOnInsert`` and whole-document replacement.

Behaviour from the manual ("Update Operators"): dotted paths create missing embedded documents,
``$set`` on an existing field keeps its position and a new field goes last, ``_id`` is immutable
(code 66), ``$inc`` needs numbers (code 14), an unknown modifier is FailedToParse (code 9).
"""

from __future__ import annotations

import copy
from typing import Any, Dict, Mapping, Optional

from bson.int64 import Int64

from .errors import CommandError
from .ordering import identical

MODIFIERS = ("$set", "$unset", "$inc", "$setOnInsert")


def is_modifier_update(update: Any) -> bool:
    return isinstance(update, dict) and any(key.startswith("$") for key in update)


def _parent(doc: Dict[str, Any], path: str, create: bool) -> tuple:
    """The container that holds the last part of ``path`` and that part (``None`` if absent)."""
    parts = path.split(".")
    if any(part.startswith("$") for part in parts):
        raise CommandError(
            2, f"update path {path!r}: positional operators are not supported by this test server"
        )
    current: Any = doc
    for part in parts[:-1]:
        if isinstance(current, list) and part.isdigit():
            index = int(part)
            if index >= len(current):
                if not create:
                    return None, parts[-1]
                current.extend([None] * (index + 1 - len(current)))
            if current[index] is None and create:
                current[index] = {}
            current = current[index]
        elif isinstance(current, dict):
            if part not in current:
                if not create:
                    return None, parts[-1]
                current[part] = {}
            current = current[part]
        else:
            raise CommandError(28, f"Cannot create field '{part}' in element {{{path}: ...}}")
    return current, parts[-1]


def _set(doc: Dict[str, Any], path: str, value: Any) -> None:
    container, last = _parent(doc, path, create=True)
    if isinstance(container, list):
        index = int(last)
        container.extend([None] * (index + 1 - len(container)))
        container[index] = value
    else:
        container[last] = value


def _get(doc: Dict[str, Any], path: str) -> Any:
    container, last = _parent(doc, path, create=False)
    if isinstance(container, dict):
        return container.get(last)
    if isinstance(container, list) and last.isdigit() and int(last) < len(container):
        return container[int(last)]
    return None


def _unset(doc: Dict[str, Any], path: str) -> None:
    container, last = _parent(doc, path, create=False)
    if isinstance(container, dict):
        container.pop(last, None)
    elif isinstance(container, list) and last.isdigit() and int(last) < len(container):
        container[int(last)] = None


def _inc(current: Any, amount: Any) -> Any:
    numbers = (int, float, Int64)
    if not isinstance(amount, numbers) or isinstance(amount, bool):
        raise CommandError(14, "Cannot increment with non-numeric argument")
    if current is None:
        return amount
    if not isinstance(current, numbers) or isinstance(current, bool):
        raise CommandError(14, "Cannot apply $inc to a value of non-numeric type")
    total = current + amount
    if isinstance(current, Int64) or isinstance(amount, Int64):
        return total if isinstance(total, float) else Int64(total)
    return total


def apply_modifiers(
    doc: Dict[str, Any], update: Mapping[str, Any], inserting: bool = False
) -> Dict[str, Any]:
    """A copy of ``doc`` with the update operators applied (``$v`` markers of oplog entries ignored)."""
    new = copy.deepcopy(doc)
    for name, fields in update.items():
        if name == "$v":
            continue
        if name not in MODIFIERS:
            raise CommandError(
                9,
                f"Unknown modifier: {name}. Expected a valid update modifier or pipeline-style update specified as an array",
            )
        if not isinstance(fields, dict):
            raise CommandError(
                9, f"Modifiers operate on fields but we found type {type(fields).__name__} instead"
            )
        for path, value in fields.items():
            if name == "$set" or (name == "$setOnInsert" and inserting):
                _set(new, path, copy.deepcopy(value))
            elif name == "$unset":
                _unset(new, path)
            elif name == "$inc":
                _set(new, path, _inc(_get(new, path), value))
    _keep_id(doc, new)
    return new


def replace(doc: Optional[Dict[str, Any]], replacement: Mapping[str, Any]) -> Dict[str, Any]:
    """``replacement`` with the old ``_id`` first (the ``_id`` may be repeated but not changed)."""
    if doc is not None and "_id" in replacement:
        _keep_id(doc, dict(replacement))
    new: Dict[str, Any] = {}
    if doc is not None and "_id" in doc:
        new["_id"] = doc["_id"]
    for key, value in replacement.items():
        if key != "_id" or "_id" not in new:
            new[key] = copy.deepcopy(value)
    return new


def _keep_id(old: Dict[str, Any], new: Dict[str, Any]) -> None:
    if "_id" in old and not identical(old["_id"], new.get("_id")):
        raise CommandError(
            66, "Performing an update on the path '_id' would modify the immutable field '_id'"
        )
