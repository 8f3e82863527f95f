"""gzip libraries and levels against zlib level 6 (what mongodump --gzip writes), on two kinds of data.

Data (``OFFSITE_BENCH_GZIP_MB`` MiB each, default 64): ``bench`` is the benchmarks' data set (hex pads:
mostly entropy coding); ``orders`` is structured (repeated keys, words, dates, nested items: LZ77 matters).
Each candidate compresses the same 1 MiB blocks into whole gzip members, one thread, and prints its CPU
seconds per GiB and its size against zlib level 6 and against zlib at the same level. The last lines run
the collection's writer (``compressing_writer``) on every core. Libraries that are not installed are skipped.
"""

from __future__ import annotations

import datetime
import io
import os
import random
import sys
import time
import zlib
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import bson

from bench.dataset import Layout, generate

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / ".cache" / "collections"))

from ansible_collections.offsite.mongodb.plugins.module_utils import compression  # noqa: E402

BLOCK = 1 << 20
GIB = float(1 << 30)


def bench_data(size: int) -> bytes:
    docs: List[bytes] = []
    for _db, _name, collection in generate(Layout(size)):
        docs.extend(collection)
    return b"".join(docs)[:size]


def orders_data(size: int) -> bytes:
    rng = random.Random(7)
    words = [
        "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randint(3, 10))) for _unused in range(2000)
    ]
    start = datetime.datetime(2024, 1, 1)
    docs, total = [], 0
    while total < size:
        doc = bson.encode({
            "_id": bson.ObjectId(),
            "customer": {"name": " ".join(rng.choices(words, k=2)).title(), "email": f"{rng.choice(words)}@{rng.choice(words)}.com",
                         "address": {"street": f"{rng.randint(1, 999)} {rng.choice(words)} st", "city": rng.choice(words[:200])}},
            "created": start + datetime.timedelta(seconds=rng.randint(0, 10**8)),
            "status": rng.choice(["new", "paid", "shipped", "cancelled"]),
            "items": [{"sku": f"SKU-{rng.randint(1, 5000):05d}", "qty": rng.randint(1, 5), "price": round(rng.random() * 100, 2)}
                      for _unused in range(rng.randint(1, 6))],
            "note": " ".join(rng.choices(words, k=rng.randint(0, 40))),
        })  # fmt: skip
        docs.append(doc)
        total += len(doc)
    return b"".join(docs)[:size]


def candidates() -> Dict[str, Tuple[Callable[[bytes, int], bytes], Tuple[int, ...]]]:
    """library -> (one gzip member of a block at a level, levels to try)."""
    found = {"zlib": (lambda block, level: zlib.compress(block, level, wbits=31), (1, 3, 6, 9))}
    try:
        import deflate  # noqa: PLC0415

        found["libdeflate"] = (deflate.gzip_compress, (1, 3, 4, 6, 9))
    except ImportError:
        pass
    try:
        from isal import isal_zlib  # noqa: PLC0415

        found["isal"] = (lambda block, level: isal_zlib.compress(block, level, wbits=31), (0, 1, 2, 3))
    except ImportError:
        pass
    try:
        from zlib_ng import zlib_ng  # noqa: PLC0415

        found["zlib-ng"] = (lambda block, level: zlib_ng.compress(block, level, wbits=31), (1, 2, 3, 6))
    except ImportError:
        pass
    return found


def members(compress: Callable[[bytes, int], bytes], data: bytes, level: int) -> Tuple[int, float]:
    """(compressed size, CPU seconds) of ``data`` as 1 MiB gzip members, one thread."""
    view = memoryview(data)
    start = time.process_time()
    size = sum(len(compress(view[i : i + BLOCK], level)) for i in range(0, len(data), BLOCK))
    return size, time.process_time() - start


def writer(data: bytes, threads: int) -> Tuple[int, float, float]:
    """(size, wall seconds, CPU seconds) of the collection's gzip writer at its default level."""
    out = io.BytesIO()
    start, cpu = time.perf_counter(), time.process_time()
    stream = compression.compressing_writer(out, "gzip", threads=threads)
    for i in range(0, len(data), 16 << 20):  # the dump writes batches of up to 16 MiB
        stream.write(data[i : i + (16 << 20)])
    stream.finish()
    return len(out.getvalue()), time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    size = int(os.environ.get("OFFSITE_BENCH_GZIP_MB", "64")) << 20
    found = candidates()
    for name, data in (("bench", bench_data(size)), ("orders", orders_data(size))):
        gib = len(data) / GIB
        zlib_sizes = {level: members(found["zlib"][0], data, level)[0] for level in found["zlib"][1]}
        print(
            f"-- {name} data, {len(data) >> 20} MiB; zlib 6 gives {len(data) / zlib_sizes[6]:.2f}:1",
            flush=True,
        )
        for library, (compress, levels) in found.items():
            for level in levels:
                out, cpu = members(compress, data, level)
                same = f"{out / zlib_sizes[level]:5.3f}" if level in zlib_sizes else "    -"
                print(f"{library:10} level {level}: {cpu / gib:5.1f} CPU-s/GiB, size {out / zlib_sizes[6]:5.3f} of zlib 6, "
                      f"{same} of zlib at this level", flush=True)  # fmt: skip
        for threads in (1, 0):
            out, wall, cpu = writer(data, threads)
            used = compression.check_threads(threads)
            print(f"writer ({compression.GZIP_BACKEND}, default level, {used} thread(s)): {wall:5.2f} s wall, "
                  f"{cpu / gib:5.1f} CPU-s/GiB, size {out / zlib_sizes[6]:5.3f} of zlib 6", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
