"""What a dump covers: the options (``DumpPlan``) and the namespaces they select on a server, with metadata.

``plan_namespaces`` lists the namespaces mongodump would dump, each with the metadata.json content
mongodump writes for it, admin's users, roles and version first, then the largest collections first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional, Tuple

try:
    import bson
    from bson import json_util
    from bson.codec_options import CodecOptions
    from bson.son import SON

    ORDERED = CodecOptions(document_class=SON)
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    bson = json_util = SON = ORDERED = None

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import (
    PreludeEntry,
    metadata_json,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.byte_budget import (
    DEFAULT_DUMP_BUDGET,
    MIN_DUMP_BUDGET,
    MiB,
)
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import (
    AUTH_NAMESPACES,
    NamespaceFilter,
    namespace_name,
    timeseries_data_collection,
)

CONSISTENCIES = ("none", "lock", "oplog", "snapshot")
SKIPPED_DATABASES = ("local", "config")


@dataclass
class DumpPlan:
    """What to dump and how (module options, validated by ``check``)."""

    databases: List[str] = field(default_factory=list)
    include: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=list)
    query: Dict[str, Any] = field(default_factory=dict)  # namespace -> filter (document or Extended JSON)
    parallel_collections: int = 4
    consistency: str = "none"
    compression: str = "gzip"
    compression_level: Optional[int] = None
    batch_size: Optional[int] = None
    where: str = "the server"  # for messages (no credentials)
    memory_budget: int = DEFAULT_DUMP_BUDGET  # bytes in flight: batches read, compression, upload parts

    def check(self) -> None:
        if self.consistency not in CONSISTENCIES:
            raise OffsiteError(
                f"consistency must be one of {', '.join(CONSISTENCIES)}, got {self.consistency!r}"
            )
        if not 1 <= int(self.parallel_collections) <= 100:
            raise OffsiteError(
                f"parallel_collections must be between 1 and 100, got {self.parallel_collections}"
            )
        if int(self.memory_budget) < MIN_DUMP_BUDGET:
            raise OffsiteError(
                f"memory_budget must be at least {MIN_DUMP_BUDGET // MiB} MiB, got {int(self.memory_budget) // MiB} MiB"
            )
        NamespaceFilter(self.include, self.exclude)
        for ns in self.query:
            parse_query(ns, self.query[ns])


def parse_query(ns: str, value: Any) -> Mapping[str, Any]:
    """A ``query`` value (Extended JSON text or a document) as a filter document."""
    if isinstance(value, Mapping):
        return json_util.loads(json_util.dumps(value))  # turns {"$oid": ...} and friends into BSON values
    try:
        parsed = json_util.loads(str(value))
    except ValueError as exc:
        raise OffsiteError(f"query for {ns} is not valid Extended JSON: {exc}") from None
    if not isinstance(parsed, Mapping):
        raise OffsiteError(f"query for {ns} must be a JSON object")
    return parsed


@dataclass
class DumpNamespace:
    """One namespace to dump: the name users see, its type, metadata and where its data lives."""

    db: str
    name: str
    type: str
    metadata: Dict[str, Any]
    data_collection: str
    count: int = 0
    size: int = 0
    query: Optional[Mapping[str, Any]] = None

    @property
    def ns(self) -> str:
        return namespace_name(self.db, self.name)

    def entry(self) -> PreludeEntry:
        return PreludeEntry(self.db, self.name, metadata_json(self.metadata), self.type)


def _uuid_hex(value: Any) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bson.Binary):
        text = bytes(value).hex()
        return text if text != "0" * 32 else None
    hex_value = getattr(value, "hex", None)
    if isinstance(hex_value, str):  # uuid.UUID
        return hex_value
    text = str(value).replace("-", "").lower()
    return text if len(text) == 32 and text != "0" * 32 else None  # stand-ins report all zeros


def _dumped(db: str, name: str) -> bool:
    """mongodump's rule for which collections of a database are dumped."""
    if "$" in name:
        return False
    if db == "admin":
        return name != "system.keys"
    return not name.startswith("system.") or name == "system.js"


def collection_metadata(spec: Mapping[str, Any], indexes: List[Any]) -> Dict[str, Any]:
    """The metadata.json document mongodump 100.x writes for a ``listCollections`` entry."""
    metadata: Dict[str, Any] = SON()
    options = spec.get("options") or {}
    if options:
        metadata["options"] = options
    metadata["indexes"] = indexes
    uuid = _uuid_hex((spec.get("info") or {}).get("uuid"))
    if uuid and spec.get("type", "collection") == "collection":
        metadata["uuid"] = uuid
    metadata["collectionName"] = spec["name"]
    metadata["type"] = spec.get("type", "collection")
    return metadata


def list_databases(client: Any, plan: DumpPlan) -> List[str]:
    if plan.databases:
        return list(plan.databases)
    names = client.list_database_names()
    return [n for n in names if n not in SKIPPED_DATABASES and not n.startswith("__mdb_internal")]


def plan_namespaces(
    client: Any, plan: DumpPlan, version: Optional[Tuple[int, int, int]], sizes: bool = False
) -> List[DumpNamespace]:
    """The namespaces to dump, admin users/roles/version first, then the largest collections first."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    collections: List[DumpNamespace] = []
    for db_name in list_databases(client, plan):
        database = client.get_database(db_name, codec_options=ORDERED)
        for spec in database.list_collections():
            name, kind = spec["name"], spec.get("type", "collection")
            if not _dumped(db_name, name) or not selected.selects(f"{db_name}.{name}"):
                continue
            indexes = [] if kind == "view" else list(database[name].list_indexes())
            data = timeseries_data_collection(name, version) if kind == "timeseries" else name
            item = DumpNamespace(db_name, name, kind, collection_metadata(spec, indexes), data)
            if kind != "view":
                item.count = _estimated_count(database, data)
                if sizes:
                    item.size = _data_size(database, data)
            collections.append(item)
    known = {item.ns for item in collections}
    for ns in plan.query:
        if ns not in known:
            raise OffsiteError(
                f"query names {ns}, which is not among the dumped namespaces: fix the namespace"
            )
    for item in collections:
        if item.ns in plan.query:
            item.query = parse_query(item.ns, plan.query[item.ns])
    special = [item for name in AUTH_NAMESPACES for item in collections if item.ns == name]
    others = sorted(
        (item for item in collections if item.ns not in AUTH_NAMESPACES), key=lambda item: -item.count
    )
    return special + others


def _estimated_count(database: Any, name: str) -> int:
    try:
        return int(database[name].estimated_document_count())
    except Exception:
        return 0


def _data_size(database: Any, name: str) -> int:
    try:
        return int(database.command("collStats", name).get("size", 0))
    except Exception:
        return 0
