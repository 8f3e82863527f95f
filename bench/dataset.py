"""The benchmarks' data set: the same deterministic documents for nx-27017 and the fast server.

Each database holds ``large`` big collections (3/4 of its bytes, documents of ``large_docs`` pad
bytes) and ``small`` little ones (1/4, ``small_docs`` pad bytes). The pad is hex of random bytes,
so the archive compresses about 2:1, like real data.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Iterator, List, Tuple

import bson

DATABASES = ("bench_a", "bench_b")


@dataclass(frozen=True)
class Layout:
    """How big the data set is and how it is split."""

    total_bytes: int
    databases: Tuple[str, ...] = DATABASES
    large: int = 3
    small: int = 30
    large_docs: Tuple[int, int] = (200, 4000)
    small_docs: Tuple[int, int] = (50, 600)
    seed: int = 42

    def collections(self) -> List[Tuple[str, str, int, Tuple[int, int]]]:
        """(database, collection, byte quota, pad size range) for every collection."""
        plan = []
        budget = self.total_bytes // len(self.databases)
        for db in self.databases:
            plan += [
                (db, f"large_{i}", budget * 3 // 4 // self.large, self.large_docs) for i in range(self.large)
            ]
            plan += [
                (db, f"small_{i:02d}", budget // 4 // self.small, self.small_docs) for i in range(self.small)
            ]
        return plan


def documents(rng: random.Random, quota: int, pad_range: Tuple[int, int]) -> Iterator[bytes]:
    """Encoded documents until ``quota`` bytes are reached (the last one may pass it)."""
    low, high = pad_range
    doc_id = 0
    while quota > 0:
        pad = rng.randbytes(rng.randint(low, high) // 2).hex()
        doc = bson.encode({"_id": doc_id, "n": rng.random(), "tags": ["a", "b"], "pad": pad})
        doc_id += 1
        quota -= len(doc)
        yield doc


def generate(layout: Layout) -> Iterator[Tuple[str, str, Iterator[bytes]]]:
    """(database, collection, its documents) in a fixed order, from one seeded generator."""
    rng = random.Random(layout.seed)
    for db, name, quota, pad_range in layout.collections():
        yield db, name, documents(rng, quota, pad_range)
