"""Whole-stream compression around an archive: gzip, zstd or none, detected on read by magic bytes.

gzip is what ``mongorestore --archive --gzip`` reads; zstd is faster (read it with stock tools as
``zstd -dc FILE | mongorestore --archive``). Writers wrap any object with ``.write(bytes)``; readers
wrap any object with ``.read(n)``. Neither closes the object it wraps.

Both compressors use every core by default (``threads`` caps them): gzip cuts the stream into 1 MiB
blocks that worker threads compress into gzip members, written in order (gzip readers, Go's included,
read concatenated members as one stream); zstd runs zstandard's own worker threads. gzip uses
libdeflate (the ``deflate`` package) when the host has it, stdlib zlib otherwise; docs/performance.md
has the measurements behind the choice and the level table.

gzip is inflated by ISA-L (the ``isal`` package) when the host has it, about twice as fast as stdlib
zlib, which it falls back to.
"""

from __future__ import annotations

import gzip
import io
import os
import zlib
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Deque, Optional, Tuple

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_format import MAGIC as ARCHIVE_MAGIC
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

try:
    import zstandard

    ZSTD_IMPORT_ERROR: Optional[str] = None
except ImportError as exc:  # pragma: no cover - exercised on hosts without zstandard
    zstandard = None
    ZSTD_IMPORT_ERROR = str(exc)

try:
    import deflate as libdeflate

    GZIP_BACKEND = "libdeflate"
except ImportError:  # pragma: no cover - exercised on hosts without the deflate package (and in a test)
    libdeflate = None
    GZIP_BACKEND = "zlib"

try:
    from isal import isal_zlib as inflate_library

    INFLATE_BACKEND = "isal"
    INFLATE_ERRORS: Tuple[type, ...] = (zlib.error, inflate_library.error)
except ImportError:  # pragma: no cover - exercised on hosts without the isal package (and in a test)
    inflate_library = zlib
    INFLATE_BACKEND = "zlib"
    INFLATE_ERRORS = (zlib.error,)

COMPRESSIONS = ("gzip", "zstd", "none")
GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"

DEFAULT_LEVELS = {"gzip": 6, "zstd": 2}  # gzip 6: what mongodump --gzip uses; zstd 2: docs/performance.md
LEVEL_RANGES = {"gzip": (0, 9), "zstd": (-7, 22)}
READ_SIZE = 1 << 20
GZIP_BLOCK = 1 << 20  # input bytes per gzip member
# A gzip level (zlib's scale, as the option documents it) -> the libdeflate level used for it: the fastest
# whose archive stays within 10% of what zlib gives at that level, with a margin (measured: docs/performance.md).
LIBDEFLATE_LEVELS = {0: 0, 1: 1, 2: 1, 3: 1, 4: 2, 5: 2, 6: 2, 7: 6, 8: 6, 9: 6}


def _require_zstd() -> None:
    if zstandard is None:
        raise OffsiteError(
            "compression zstd needs the Python library zstandard on the host that runs the module: "
            "pip install zstandard, or use compression gzip"
        )


def check_level(compression: str, level: Optional[int]) -> Optional[int]:
    """Validate ``level`` for ``compression``; returns the level to use (None for ``none``)."""
    if compression not in COMPRESSIONS:
        raise OffsiteError(f"compression must be one of {', '.join(COMPRESSIONS)}, got {compression!r}")
    if compression == "none":
        return None
    if level is None:
        return DEFAULT_LEVELS[compression]
    low, high = LEVEL_RANGES[compression]
    if not low <= level <= high:
        raise OffsiteError(
            f"compression_level for {compression} must be between {low} and {high}, got {level}"
        )
    return level


def cpu_threads() -> int:
    """How many CPUs this process may run on (its affinity mask where the OS has one)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):  # pragma: no cover - macOS and others without affinity masks
        return os.cpu_count() or 1


def check_threads(threads: int) -> int:
    """The compressor threads to use: one per usable core when ``threads`` is 0, else at most ``threads``."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise OffsiteError(
            f"compression threads must be 0 (one per CPU core) or a positive cap, got {threads!r}"
        )
    cores = cpu_threads()
    return cores if threads == 0 else min(threads, cores)


def _libdeflate_member(block: Any, level: int) -> bytes:
    return libdeflate.gzip_compress(block, LIBDEFLATE_LEVELS[level])


def _zlib_member(block: Any, level: int) -> bytes:
    """One gzip member by the stdlib (no file name, mtime 0, OS unknown: the header Go writes)."""
    out = io.BytesIO()
    with gzip.GzipFile(filename="", fileobj=out, mode="wb", compresslevel=level, mtime=0) as member:
        member.write(block)
    return out.getvalue()


def gzip_member_function() -> Callable[[Any, int], bytes]:
    """Compresses one block into a whole gzip member: libdeflate when installed, else stdlib zlib."""
    return _libdeflate_member if libdeflate is not None else _zlib_member


class _ParallelGzipWriter:
    """gzip on several cores: 1 MiB blocks, each a gzip member compressed by a worker thread, written in order.

    libdeflate and zlib release the GIL while they compress, so the workers run in parallel with each other
    and with the dump. At most two blocks per thread are in flight, which bounds the memory.
    """

    def __init__(self, sink: Any, level: int, threads: int, block_size: int = GZIP_BLOCK) -> None:
        self._sink = sink
        self._level = level
        self._member = gzip_member_function()
        self._block_size = block_size
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="gzip")
        self._in_flight = 2 * threads
        self._pending: Deque[Future] = deque()
        self._buffer = bytearray()
        self._members = 0

    def write(self, data: Any) -> int:
        view = memoryview(data if isinstance(data, bytes) else bytes(data)).cast("B")  # bytes: no copy
        size = len(view)
        if self._buffer:
            take = min(self._block_size - len(self._buffer), size)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == self._block_size:
                self._submit(bytes(self._buffer))
                self._buffer = bytearray()
        while len(view) >= self._block_size:
            self._submit(view[: self._block_size])
            view = view[self._block_size :]
        if len(view):
            self._buffer += view
        return size

    def _submit(self, block: Any) -> None:
        self._pending.append(self._pool.submit(self._member, block, self._level))
        self._members += 1
        while self._pending and (len(self._pending) > self._in_flight or self._pending[0].done()):
            self._sink.write(self._pending.popleft().result())

    def finish(self) -> None:
        """Compress what is buffered (an empty stream is one empty member) and write every member in order."""
        try:
            if self._buffer or not self._members:
                self._submit(bytes(self._buffer))
                self._buffer = bytearray()
            while self._pending:
                self._sink.write(self._pending.popleft().result())
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


class _ZstdWriter:
    def __init__(self, sink: Any, level: int, threads: int) -> None:
        _require_zstd()
        compressor = zstandard.ZstdCompressor(level=level, threads=threads, write_checksum=True)
        self._stream = compressor.stream_writer(sink, closefd=False, write_return_read=True)

    def write(self, data: bytes) -> int:
        return self._stream.write(data)

    def finish(self) -> None:
        self._stream.close()


class _PlainWriter:
    def __init__(self, sink: Any) -> None:
        self._sink = sink

    def write(self, data: bytes) -> int:
        self._sink.write(data)
        return len(data)

    def finish(self) -> None:
        """Nothing to flush."""


def compressing_writer(sink: Any, compression: str, level: Optional[int] = None, threads: int = 0) -> Any:
    """A writer with ``.write(bytes)`` and ``.finish()`` that compresses into ``sink``.

    ``threads``: compressor threads, 0 for one per usable CPU core, N to use at most N.
    """
    level = check_level(compression, level)
    threads = check_threads(threads)
    if compression == "gzip":
        return _ParallelGzipWriter(sink, level, threads)
    if compression == "zstd":
        return _ZstdWriter(sink, level, threads)
    return _PlainWriter(sink)


class _Prefixed:
    """A readable stream that first returns ``prefix``, then the rest of ``source``."""

    def __init__(self, prefix: bytes, source: Any) -> None:
        self._prefix = prefix
        self._source = source

    def read(self, size: int = -1) -> bytes:
        if self._prefix:
            if size is None or size < 0:
                data, self._prefix = self._prefix + self._source.read(), b""
                return data
            data, self._prefix = self._prefix[:size], self._prefix[size:]
            return data
        return self._source.read(size)

    def readable(self) -> bool:
        return True


class _GzipReader:
    """Decompresses concatenated gzip members (as Go's reader accepts) in large chunks."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._inflate = inflate_library.decompressobj(wbits=31)
        self._eof = False
        self._in_member = False
        self._consumed = 0  # compressed bytes taken from the source (for messages)

    def read(self, size: int = READ_SIZE) -> bytes:
        try:
            return self._read(READ_SIZE if size is None or size < 0 else size)
        except INFLATE_ERRORS as exc:
            raise OffsiteError(
                f"corrupt gzip stream near compressed byte {self._consumed} ({exc}): the archive is damaged; "
                "copy it again or use another backup"
            ) from None

    def _read(self, size: int) -> bytes:
        while not self._eof:
            if self._inflate.unconsumed_tail:
                chunk = self._inflate.decompress(self._inflate.unconsumed_tail, size)
            else:
                raw = self._source.read(READ_SIZE)
                if not raw:
                    if self._in_member:
                        raise OffsiteError(
                            f"truncated gzip stream: it ends inside a member at compressed byte {self._consumed}; "
                            "the archive is incomplete, copy it again or use another backup"
                        )
                    self._eof = True
                    return b""
                self._consumed += len(raw)
                self._in_member = True
                chunk = self._inflate.decompress(raw, size)
            if self._inflate.eof:  # a member ended; another may follow (Go's reader accepts that)
                rest = self._inflate.unused_data
                self._inflate = inflate_library.decompressobj(wbits=31)
                self._in_member = False
                if rest:
                    self._consumed -= len(rest)  # read again as the next member's start
                    self._source = _Prefixed(rest, self._source)
            if chunk:
                return chunk
        return b""


def _read_prefix(source: Any, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = source.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def detect(prefix: bytes) -> Optional[str]:
    """The compression that a stream starting with ``prefix`` uses, or None when unknown."""
    if prefix.startswith(GZIP_MAGIC):
        return "gzip"
    if prefix.startswith(ZSTD_MAGIC):
        return "zstd"
    if prefix.startswith(ARCHIVE_MAGIC):
        return "none"
    return None


def decompressing_reader(source: Any) -> Tuple[Any, str]:
    """(readable stream of the archive bytes, compression detected from the magic bytes of ``source``)."""
    prefix = _read_prefix(source, 4)
    compression = detect(prefix)
    if compression is None:
        shown = prefix.hex(" ") or "nothing"
        problem = "truncated: the archive ends" if len(prefix) < 4 else "corrupt or not a mongodump archive"
        raise OffsiteError(
            f"{problem} at byte 0: it starts with {shown}, which is neither gzip, zstd nor the archive magic "
            "6d e2 99 81; check that src is a whole archive written by mongodump or this collection"
        )
    stream = _Prefixed(prefix, source)
    if compression == "gzip":
        return _GzipReader(stream), compression
    if compression == "zstd":
        _require_zstd()
        return _ZstdReader(stream), compression
    return stream, compression


class _ZstdReader:
    """Decompresses zstd frames one after another; a truncated or damaged frame is a one-line error."""

    INPUT_SIZE = 1 << 16  # small input pieces keep the output of one step bounded

    def __init__(self, source: Any) -> None:
        self._source = source
        self._decompressor = zstandard.ZstdDecompressor()
        self._obj = self._decompressor.decompressobj()
        self._in_frame = False
        self._eof = False
        self._consumed = 0  # compressed bytes taken from the source (for messages)

    def read(self, size: int = READ_SIZE) -> bytes:
        try:
            return self._read()
        except zstandard.ZstdError as exc:
            raise OffsiteError(
                f"corrupt zstd stream near compressed byte {self._consumed} ({exc}): the archive is damaged; "
                "copy it again or use another backup"
            ) from None

    def _read(self) -> bytes:
        while not self._eof:
            raw = self._source.read(self.INPUT_SIZE)
            if not raw:
                if self._in_frame:
                    raise OffsiteError(
                        f"truncated zstd stream: it ends inside a frame at compressed byte {self._consumed}; "
                        "the archive is incomplete, copy it again or use another backup"
                    )
                self._eof = True
                return b""
            self._consumed += len(raw)
            self._in_frame = True
            chunk = self._obj.decompress(raw)
            if self._obj.eof:
                rest = self._obj.unused_data
                self._obj = self._decompressor.decompressobj()
                self._in_frame = False
                if rest:
                    self._consumed -= len(rest)  # read again as the next frame's start
                    self._source = _Prefixed(rest, self._source)
            if chunk:
                return chunk
        return b""
