"""Where a dump's CPU goes: py-spy's raw (collapsed) stacks summed into the engine's stages.

Usage: ``python -m bench.profile_summary PROFILE.txt [CPU_S_PER_GIB]``. Each sample goes to the stage
of the innermost frame that names one (patterns below, first match wins from the leaf outwards);
with the dump's measured CPU-seconds per GiB, the shares are also printed in CPU-s/GiB.
Record the profile with ``py-spy record --format raw`` (docs/performance.md has the commands).
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from typing import Dict, List, Optional, Tuple

STAGES: List[Tuple[str, str]] = [
    ("CRC-64 (checksum.py)", r"crc64|fastcrc"),
    ("file writes (plain sink)", r"_PlainWriter\.write"),
    ("compression", r"compression\.py|gzip\.py|zlib|deflate|zstandard|isal"),
    ("archive framing (counting documents)", r"iter_document_lengths|scan_documents"),
    ("archive writer: lock and emit", r"ArchiveWriter\.|NamespaceWriter\."),
    ("pymongo: socket receive/send", r"recv_into|receive_data|sendall|network_layer|receive_message"),
    ("pymongo: reply -> raw batch (bson)", r"bson/|raw_response|message\.py|_convert_raw"),
    ("threads, pools, monitors", r"threading\.py|concurrent/futures|periodic_executor|monitor\.py"),
    ("start-up: imports, handshake, listings", r"importlib|<module>|plan_namespaces|describe_node|pymongo/"),
]


def stage_of(frames: List[str]) -> str:
    for frame in reversed(frames):
        for name, pattern in STAGES:
            if re.search(pattern, frame):
                return name
    return "other"


def summarize(path: str) -> Dict[str, int]:
    totals: Counter = Counter()
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            stack, _unused, count = line.rstrip("\n").rpartition(" ")
            if stack:
                totals[stage_of(stack.split(";"))] += int(count)
    return dict(totals)


def main(argv: List[str]) -> int:
    path = argv[0]
    per_gib: Optional[float] = float(argv[1]) if len(argv) > 1 else None
    totals = summarize(path)
    samples = sum(totals.values())
    print(f"{path}: {samples} samples")
    for name, count in sorted(totals.items(), key=lambda item: -item[1]):
        share = count / samples
        scaled = f"  {share * per_gib:5.1f} CPU-s/GiB" if per_gib is not None else ""
        print(f"  {name:42} {share:6.1%}{scaled}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
