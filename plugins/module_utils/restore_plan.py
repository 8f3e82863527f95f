"""What a restore covers: the options (``RestorePlan``), each archive namespace's target, and the safety rules.

``plan_targets`` maps archive namespaces to targets after filters and renames; ``refuse_conflicts``
fails before any write when targets collide, land in a system database, or (without ``drop``) already
hold documents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple, Union

try:
    from pymongo.write_concern import WriteConcern
except (
    ImportError
):  # pragma: no cover - hosts without pymongo fail in mongo_connection.connect with a clear message
    WriteConcern = None

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import PreludeEntry
from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import ArchiveReader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.namespaces import (
    AUTH_VERSION_NS,
    ROLES_NS,
    SYSTEM_DATABASES,
    USERS_NS,
    NamespaceFilter,
    Renamer,
    namespace_name,
    split_namespace,
)

# kinds of target: collection | view | timeseries (data) and oplog | users | roles (special paths)
SPECIAL_KINDS = ("oplog", "users", "roles")


@dataclass
class RestorePlan:
    """What to restore and how (module options)."""

    include: List[str] = field(default_factory=list)
    exclude: List[str] = field(default_factory=list)
    ns_from: List[str] = field(default_factory=list)
    ns_to: List[str] = field(default_factory=list)
    drop: bool = False
    oplog_replay: bool = False
    users_and_roles: bool = False
    parallel_collections: int = 4
    insertion_workers: int = 1
    write_concern: Optional[Union[str, int, Dict[str, Any]]] = None
    bypass_document_validation: bool = True
    check_only: bool = False  # read and verify the whole archive, write nothing
    where: str = "the server"

    def check(self) -> None:
        NamespaceFilter(self.include, self.exclude)
        renamer = Renamer(self.ns_from, self.ns_to)
        if renamer and self.oplog_replay:
            raise OffsiteError(
                "oplog_replay cannot be combined with ns_from/ns_to: oplog entries name the old namespaces"
            )
        for name in ("parallel_collections", "insertion_workers"):
            if not 1 <= int(getattr(self, name)) <= 100:
                raise OffsiteError(f"{name} must be between 1 and 100, got {getattr(self, name)}")
        write_concern(self.write_concern)


def write_concern(value: Optional[Union[str, int, Dict[str, Any]]]) -> Optional[WriteConcern]:
    """``majority``, ``2``, or ``{w: ..., j: ..., wtimeout: ...}`` as a ``WriteConcern``."""
    if value in (None, ""):
        return None
    if isinstance(value, dict):
        options = dict(value)
    elif isinstance(value, int) or str(value).isdigit():
        options = {"w": int(value)}
    else:
        options = {"w": str(value)}
    try:
        return WriteConcern(**options)
    except (TypeError, ValueError) as exc:
        raise OffsiteError(
            f"write_concern {value!r} is not valid ({exc}): use majority, a number or {{w: ...}}"
        ) from None


@dataclass
class RestoreTarget:
    """One archive namespace and where it goes."""

    entry: PreludeEntry
    source: str
    ns: str
    kind: str  # collection | view | timeseries | oplog | users | roles
    metadata: Dict[str, Any]
    archive_documents: int = 0
    documents: int = 0
    failed: int = 0
    archive_complete: bool = False
    data_done: bool = False

    @property
    def db(self) -> str:
        return split_namespace(self.ns)[0]

    @property
    def collection(self) -> str:
        return split_namespace(self.ns)[1]


def plan_targets(reader: ArchiveReader, plan: RestorePlan) -> Dict[str, RestoreTarget]:
    """Archive namespaces (by body name) -> targets, after filters and renames; skipped ones are left out."""
    selected = NamespaceFilter(plan.include, plan.exclude)
    renamer = Renamer(plan.ns_from, plan.ns_to)
    targets: Dict[str, RestoreTarget] = {}
    for entry in reader.entries:
        body = reader.data_namespace(entry)
        metadata = reader.metadata.get(entry.ns) or {}
        special = _special_kind(entry, plan)
        if special:
            targets[body] = RestoreTarget(entry, entry.ns, entry.ns, special, metadata)
            continue
        if not _restorable(entry) or not selected.selects(entry.ns):
            continue
        kind = (
            entry.type
            or metadata.get("type")
            or ("view" if "viewOn" in (metadata.get("options") or {}) else "")
        )
        target = renamer.rename(entry.ns)
        db, collection = split_namespace(target)
        if not collection:
            raise OffsiteError(
                f"ns_to maps {entry.ns} to {target!r}, which has no collection part: fix ns_to"
            )
        if db in SYSTEM_DATABASES:
            raise OffsiteError(
                f"refusing to restore {entry.ns} into the system database {db} ({target}): exclude it "
                f"(exclude: ['{entry.ns}']) or map it elsewhere with ns_from/ns_to; users and roles have "
                "their own option, users_and_roles"
            )
        targets[body] = RestoreTarget(
            entry, namespace_name(entry.db, entry.collection), target, kind or "collection", metadata
        )
    return targets


def _special_kind(entry: PreludeEntry, plan: RestorePlan) -> Optional[str]:
    """``oplog``, ``users`` or ``roles`` when the entry takes a special path and the plan wants it."""
    if entry.is_oplog:
        return "oplog" if plan.oplog_replay else None
    if entry.ns in (USERS_NS, ROLES_NS) and plan.users_and_roles:
        return "users" if entry.ns == USERS_NS else "roles"
    return None


def _restorable(entry: PreludeEntry) -> bool:
    """Whether an ordinary restore may write this namespace (mongorestore's skip rules)."""
    if entry.is_oplog or entry.ns in (USERS_NS, ROLES_NS, AUTH_VERSION_NS):
        return False
    return not entry.collection.startswith("$admin.") and entry.collection not in (
        "system.views",
        "system.profile",
    )


def _existing(client: Any, targets: List[RestoreTarget]) -> Dict[str, List[str]]:
    names: Dict[str, List[str]] = {}
    for db in sorted({t.db for t in targets}):
        names[db] = list(client[db].list_collection_names())
    return names


def _holds_documents(client: Any, target: RestoreTarget) -> bool:
    return client[target.db][target.collection].find_one({}, projection={"_id": 1}) is not None


def refuse_conflicts(
    client: Any, targets: List[RestoreTarget], plan: RestorePlan
) -> Tuple[Dict[str, List[str]], List[RestoreTarget]]:
    """Fail before any write when targets collide or, without ``drop``, already hold documents.

    Returns the existing collection names per database and the targets that exist.
    """
    seen: Dict[str, str] = {}
    for t in targets:
        if t.ns in seen:
            raise OffsiteError(
                f"{seen[t.ns]} and {t.source} would both be restored into {t.ns}: fix ns_from/ns_to"
            )
        seen[t.ns] = t.source
    existing = _existing(client, targets)
    present = [t for t in targets if t.collection in existing.get(t.db, [])]
    if not plan.drop:
        full = [t.ns for t in present if t.kind == "view" or _holds_documents(client, t)]
        if full:
            raise OffsiteError(
                f"these target collections already hold documents (or are views): {', '.join(sorted(full))}; "
                "set drop: true to replace them, or restore elsewhere with ns_from/ns_to"
            )
    return existing, present
