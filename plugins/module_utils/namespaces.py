"""Namespaces: their names and MongoDB's special ones, and selection and renaming in the Database Tools' syntax.

Patterns are ``db.collection`` with ``*`` matching any run of characters (``sales.*``, ``*.orders``,
``db*.b*``), as ``--nsInclude``/``--nsExclude`` take them. Renames pair ``ns_from``/``ns_to``
patterns as ``--nsFrom``/``--nsTo`` do: ``*`` captures anonymously in order, ``$name$`` captures by
name, and the target pattern reuses the captures (``sales.*`` -> ``archive.*``).
"""

from __future__ import annotations

import re
from typing import Dict, Iterable, List, Optional, Pattern, Sequence, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

_VARIABLE = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)\$|\*")

USERS_NS, ROLES_NS, AUTH_VERSION_NS = "admin.system.users", "admin.system.roles", "admin.system.version"
AUTH_NAMESPACES = (USERS_NS, ROLES_NS, AUTH_VERSION_NS)  # dumped first, restored only on request
SYSTEM_DATABASES = ("admin", "local", "config")  # never restored into or dropped
BUCKETS_PREFIX = "system.buckets."
VIEWLESS_TIMESERIES = (8, 3, 0)  # from this server version on, timeseries data lives under its own name


def namespace_name(db: str, collection: str) -> str:
    """``db.collection``; the oplog (db ``""``) is ``.oplog`` as in mongodump."""
    return f"{db}.{collection}"


def timeseries_data_collection(collection: str, version: Optional[Tuple[int, int, int]]) -> str:
    """Where a timeseries collection's documents live: its buckets before 8.3 (or when unknown), itself after."""
    if version is None or version < VIEWLESS_TIMESERIES:
        return BUCKETS_PREFIX + collection
    return collection


def split_namespace(ns: str) -> Tuple[str, str]:
    """``db.collection`` -> (db, collection); the collection may itself contain dots."""
    db, _dot, collection = ns.partition(".")
    return db, collection


def _check(pattern: str, option: str) -> str:
    if not isinstance(pattern, str) or "." not in pattern or pattern.startswith("."):
        raise OffsiteError(
            f"{option} pattern {pattern!r} must look like db.collection (for example sales.* or *.orders)"
        )
    return pattern


def compile_pattern(pattern: str, option: str = "include") -> Pattern[str]:
    """A regular expression that matches the namespaces ``pattern`` selects."""
    _check(pattern, option)
    return re.compile(
        "".join(".*" if part == "*" else re.escape(part) for part in re.split(r"(\*)", pattern)) + r"\Z"
    )


class NamespaceFilter:
    """Include/exclude patterns: a namespace is selected when some include (or none given) matches and no exclude does."""

    def __init__(
        self, include: Optional[Iterable[str]] = None, exclude: Optional[Iterable[str]] = None
    ) -> None:
        self.include = [compile_pattern(p, "include") for p in include or []]
        self.exclude = [compile_pattern(p, "exclude") for p in exclude or []]
        # ns -> selected: an oplog replay asks of few namespaces, many times
        self._answers: Dict[str, bool] = {}

    def selects(self, ns: str) -> bool:
        answer = self._answers.get(ns)
        if answer is None:
            answer = self._answers[ns] = self._matches(ns)
        return answer

    def _matches(self, ns: str) -> bool:
        if self.include and not any(p.match(ns) for p in self.include):
            return False
        return not any(p.match(ns) for p in self.exclude)


class _Rule:
    def __init__(self, source: str, target: str) -> None:
        _check(source, "ns_from")
        _check(target, "ns_to")
        regex, names, anonymous = [], [], 0
        position = 0
        for match in _VARIABLE.finditer(source):
            regex.append(re.escape(source[position : match.start()]))
            if match.group(0) == "*":
                anonymous += 1
                name = f"_star{anonymous}"
            else:
                name = match.group(1)
                if name in names:
                    raise OffsiteError(f"ns_from pattern {source!r} uses ${name}$ twice")
            names.append(name)
            regex.append(f"(?P<{name}>.*?)")
            position = match.end()
        regex.append(re.escape(source[position:]))
        self.regex = re.compile("".join(regex) + r"\Z")
        self.target = target
        used_anonymous = target.count("*")
        if used_anonymous != anonymous:
            raise OffsiteError(
                f"ns_to pattern {target!r} must use as many * as ns_from pattern {source!r} ({anonymous})"
            )
        for name in re.findall(r"\$([A-Za-z_][A-Za-z0-9_]*)\$", target):
            if name not in names:
                raise OffsiteError(
                    f"ns_to pattern {target!r} uses ${name}$, which ns_from {source!r} does not define"
                )

    def apply(self, ns: str) -> Optional[str]:
        match = self.regex.match(ns)
        if not match:
            return None
        stars = iter(value for key, value in match.groupdict().items() if key.startswith("_star"))

        def substitute(found: re.Match[str]) -> str:
            return next(stars) if found.group(0) == "*" else match.group(found.group(1))

        return _VARIABLE.sub(substitute, self.target)


class Renamer:
    """Maps source namespaces to target namespaces with the first matching ``ns_from``/``ns_to`` pair."""

    def __init__(
        self, ns_from: Optional[Sequence[str]] = None, ns_to: Optional[Sequence[str]] = None
    ) -> None:
        ns_from, ns_to = list(ns_from or []), list(ns_to or [])
        if len(ns_from) != len(ns_to):
            raise OffsiteError(
                f"ns_from and ns_to must have the same length (got {len(ns_from)} and {len(ns_to)}): they are pairs"
            )
        self.rules: List[_Rule] = [_Rule(a, b) for a, b in zip(ns_from, ns_to)]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def rename(self, ns: str) -> str:
        for rule in self.rules:
            target = rule.apply(ns)
            if target is not None:
                return target
        return ns
