"""Oplog update entries in the ``$v: 2`` "delta" format (MongoDB 5.0+): compute one, apply one.

Format (server ``src/mongo/db/update/document_diff_serialization.h``; examples in mongo-tools
``mongorestore/testdata/transactions-6.1.json``; summary in replica-set-facts.md §3): ``o`` is
``{$v: 2, diff: {d: {f: false}, u: {f: value}, i: {f: value}, s<f>: <sub-diff>}}``; an array
sub-diff is ``{a: true, l: <new length>, u<n>: value, s<n>: <sub-diff>}``. ``u`` replaces a field
in place, ``i`` appends one, ``d`` removes one.
"""

from __future__ import annotations

from typing import Any, Dict

from .errors import CommandError
from .ordering import identical


def make_diff(old: Dict[str, Any], new: Dict[str, Any]) -> Dict[str, Any]:
    """The diff that turns ``old`` into ``new`` (sub-documents changed in place get a sub-diff)."""
    deleted = {key: False for key in old if key not in new}
    updated, inserted, nested = {}, {}, {}
    for key, value in new.items():
        if key not in old:
            inserted[key] = value
        elif identical(old[key], value):
            continue
        elif isinstance(old[key], dict) and isinstance(value, dict) and _same_order(old[key], value):
            nested["s" + key] = make_diff(old[key], value)
        else:
            updated[key] = value
    diff: Dict[str, Any] = {}
    for name, part in (("d", deleted), ("u", updated), ("i", inserted)):
        if part:
            diff[name] = part
    diff.update(nested)
    return diff


def _same_order(old: Dict[str, Any], new: Dict[str, Any]) -> bool:
    """A sub-diff can only express new fields appended after the kept ones, in their old order."""
    kept = [key for key in new if key in old]
    return kept == [key for key in old if key in new] and list(new)[: len(kept)] == kept


def apply_diff(doc: Dict[str, Any], diff: Dict[str, Any]) -> None:
    """Apply a v2 diff to ``doc`` in place."""
    for key, value in diff.items():
        if key == "d":
            for name in value:
                doc.pop(name, None)
        elif key == "u":
            doc.update(value)
        elif key == "i":
            for name, item in value.items():
                doc.pop(name, None)
                doc[name] = item
        elif key.startswith("s") and isinstance(value, dict):
            field = key[1:]
            if value.get("a") is True:
                if not isinstance(doc.get(field), list):
                    doc[field] = []
                _apply_array_diff(doc[field], value)
            else:
                if not isinstance(doc.get(field), dict):
                    doc[field] = {}
                apply_diff(doc[field], value)
        else:
            raise CommandError(2, f"unknown field in an update diff: {key!r}")


def _apply_array_diff(array: list, diff: Dict[str, Any]) -> None:
    if "l" in diff:
        length = int(diff["l"])
        del array[length:]
        array.extend([None] * (length - len(array)))
    for key, value in diff.items():
        if key in ("a", "l"):
            continue
        index = int(key[1:])
        array.extend([None] * (index + 1 - len(array)))
        if key[0] == "u":
            array[index] = value
        elif key[0] == "s":
            if isinstance(value, dict) and value.get("a") is True:
                if not isinstance(array[index], list):
                    array[index] = []
                _apply_array_diff(array[index], value)
            else:
                if not isinstance(array[index], dict):
                    array[index] = {}
                apply_diff(array[index], value)
        else:
            raise CommandError(2, f"unknown field in an array diff: {key!r}")
