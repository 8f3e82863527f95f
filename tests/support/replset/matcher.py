"""A small query matcher: the filters, projections and sorts a dump, a restore and the tests send.

Semantics from the manual ("Query and Projection Operators"): a field's values are found along a
dotted path, descending into arrays; equality also matches an array that holds the value; ``null``
matches a missing field; comparisons only match within a type bracket (see ``ordering``).
Supported: equality, ``$eq $ne $gt $gte $lt $lte $in $nin $exists $not``, ``$and $or $nor``.
Anything else is MongoDB's ``BadValue`` "unknown operator", never a silent mismatch.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .errors import CommandError
from .ordering import compare, same_bracket, sort_key

_MISSING = object()


def values_at(doc: Any, path: str) -> List[Any]:
    """Every value at ``path`` (array elements along the way expanded); empty if there is none."""
    current = [doc]
    for part in path.split("."):
        found = []
        for value in current:
            if isinstance(value, dict):
                if part in value:
                    found.append(value[part])
            elif isinstance(value, list):
                if part.isdigit() and int(part) < len(value):
                    found.append(value[int(part)])
                else:
                    found.extend(item[part] for item in value if isinstance(item, dict) and part in item)
        current = found
    return current


def _candidates(values: List[Any]) -> List[Any]:
    """The values a condition is tried on: each value and, for arrays, each element too."""
    out = []
    for value in values:
        out.append(value)
        if isinstance(value, list):
            out.extend(value)
    return out


def _equals(values: List[Any], target: Any) -> bool:
    if target is None and not values:
        return True
    return any(compare(value, target) == 0 for value in _candidates(values))


def _compares(predicate: Callable[[int], bool]) -> Callable[[List[Any], Any], bool]:
    def test(values: List[Any], target: Any) -> bool:
        return any(
            same_bracket(value, target) and predicate(compare(value, target)) for value in _candidates(values)
        )

    return test


def _in(values: List[Any], targets: Any) -> bool:
    if not isinstance(targets, list):
        raise CommandError(2, "$in needs an array")
    return any(_equals(values, target) for target in targets)


def _exists(values: List[Any], wanted: Any) -> bool:
    return bool(values) == bool(wanted)


def _not(values: List[Any], condition: Any) -> bool:
    if not isinstance(condition, dict):
        raise CommandError(2, "$not needs a document")
    return not _field_matches(values, condition)


OPERATORS: Dict[str, Callable[[List[Any], Any], bool]] = {
    "$eq": _equals,
    "$ne": lambda values, target: not _equals(values, target),
    "$gt": _compares(lambda c: c > 0),
    "$gte": _compares(lambda c: c >= 0),
    "$lt": _compares(lambda c: c < 0),
    "$lte": _compares(lambda c: c <= 0),
    "$in": _in,
    "$nin": lambda values, targets: not _in(values, targets),
    "$exists": _exists,
    "$not": _not,
}


def _is_operator_doc(condition: Any) -> bool:
    return isinstance(condition, dict) and bool(condition) and next(iter(condition)).startswith("$")


def _field_matches(values: List[Any], condition: Any) -> bool:
    if not _is_operator_doc(condition):
        return _equals(values, condition)
    for name, argument in condition.items():
        operator = OPERATORS.get(name)
        if operator is None:
            raise CommandError(2, f"unknown operator: {name}")
        if not operator(values, argument):
            return False
    return True


def validate(query: Optional[Mapping[str, Any]]) -> None:
    """Reject unknown operators up front, as a mongod parses a filter before it reads anything."""
    for key, condition in (query or {}).items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(condition, list) or not condition:
                raise CommandError(2, f"{key} argument must be a non-empty array")
            for sub in condition:
                validate(sub)
        elif key.startswith("$") and key != "$comment":
            raise CommandError(2, f"unknown top level operator: {key}")
        elif _is_operator_doc(condition):
            for name, argument in condition.items():
                if name not in OPERATORS:
                    raise CommandError(2, f"unknown operator: {name}")
                if name == "$not":
                    validate({key: argument})


def matches(doc: Mapping[str, Any], query: Optional[Mapping[str, Any]]) -> bool:
    """Whether ``doc`` matches the filter ``query`` (``None`` or ``{}`` matches everything)."""
    for key, condition in (query or {}).items():
        if key in ("$and", "$or", "$nor"):
            if not isinstance(condition, list) or not condition:
                raise CommandError(2, f"{key} argument must be a non-empty array")
            results = (matches(doc, sub) for sub in condition)
            ok = all(results) if key == "$and" else any(results)
            if ok == (key == "$nor"):
                return False
        elif key == "$comment":
            continue
        elif key.startswith("$"):
            raise CommandError(2, f"unknown top level operator: {key}")
        elif not _field_matches(values_at(doc, key), condition):
            return False
    return True


def project(doc: Dict[str, Any], projection: Optional[Mapping[str, Any]]) -> Dict[str, Any]:
    """Top-level inclusion or exclusion projection; ``_id`` stays unless excluded."""
    if not projection:
        return doc
    fields = {key: value for key, value in projection.items() if key != "_id"}
    for key in fields:
        if "." in key or key.startswith("$"):
            raise CommandError(
                2, f"projection {key!r}: only top-level fields are supported by this test server"
            )
    keep_id = bool(projection.get("_id", True))
    kinds = {bool(value) for value in fields.values()}
    including = kinds == {True}
    if len(kinds) > 1:
        raise CommandError(2, "cannot mix inclusion and exclusion in a projection")
    out = {}
    for key, value in doc.items():
        if key == "_id":
            if keep_id:
                out[key] = value
        elif (key in fields) == including:
            out[key] = value
    return out


def sorted_docs(docs: Sequence[Tuple[Dict[str, Any], Any]], sort: Mapping[str, Any]) -> List[Any]:
    """Sort (decoded, payload) pairs by ``sort`` (``{field: 1|-1, ...}``); returns the payloads."""
    ordered = list(docs)
    for key, direction in reversed(list(sort.items())):
        if direction not in (1, -1):
            raise CommandError(2, f"sort direction for {key!r} must be 1 or -1")

        def by(pair: Tuple[Dict[str, Any], Any], key: str = key) -> Tuple:
            values = values_at(pair[0], key)
            return sort_key(values[0] if values else None)

        ordered.sort(key=by, reverse=direction == -1)
    return [payload for _unused, payload in ordered]
