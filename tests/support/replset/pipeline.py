"""The few aggregation stages a dump, a restore or pymongo's helpers send.

``$match``, ``$sort``, ``$skip``, ``$limit``, ``$project`` (top-level fields), ``$count``, and
``$group`` with a constant ``_id`` and ``$sum`` accumulators (what pymongo's ``count_documents``
sends: ``[{$match}, {$group: {_id: 1, n: {$sum: 1}}}]``). Stage semantics from the manual
("Aggregation Pipeline Stages"); an unknown stage is Location40324 "Unrecognized pipeline stage
name", as on MongoDB.
"""

from __future__ import annotations

from typing import Any, Dict, List

from .errors import CommandError
from .matcher import matches, project, sorted_docs, values_at


def _group(docs: List[Dict[str, Any]], spec: Dict[str, Any]) -> List[Dict[str, Any]]:
    key = spec.get("_id")
    if isinstance(key, str) and key.startswith("$"):
        raise CommandError(2, "$group by a field is not supported by this test server (constant _id only)")
    out: Dict[str, Any] = {"_id": key}
    for name, accumulator in spec.items():
        if name == "_id":
            continue
        if not isinstance(accumulator, dict) or list(accumulator) != ["$sum"]:
            raise CommandError(2, f"$group field {name!r}: only {{$sum: <number or $field>}} is supported")
        term = accumulator["$sum"]
        if isinstance(term, str) and term.startswith("$"):
            total = sum(v for d in docs for v in values_at(d, term[1:]) if isinstance(v, (int, float)))
        else:
            total = term * len(docs)
        out[name] = total
    return [out] if docs else []


def run(docs: List[Dict[str, Any]], pipeline: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    for stage in pipeline:
        if not isinstance(stage, dict) or len(stage) != 1:
            raise CommandError(40323, "A pipeline stage specification object must contain exactly one field.")
        ((name, argument),) = stage.items()
        if name == "$match":
            docs = [d for d in docs if matches(d, argument)]
        elif name == "$sort":
            docs = sorted_docs([(d, d) for d in docs], argument)
        elif name == "$skip":
            docs = docs[int(argument) :]
        elif name == "$limit":
            docs = docs[: int(argument)]
        elif name == "$project":
            docs = [project(d, argument) for d in docs]
        elif name == "$count":
            docs = [{argument: len(docs)}] if docs else []
        elif name == "$group":
            docs = _group(docs, argument)
        else:
            raise CommandError(40324, f"Unrecognized pipeline stage name: '{name}'")
    return docs
