"""Local archive files: written atomically (temporary name, then rename), mode 0600, SHA-256 inline; checked.

``AtomicFile`` is a sink for the dump engine (anything with ``.write``); ``HashingReader`` is a
source for the restore engine that hashes what it reads. A ``<file>.sha256`` sidecar in
``sha256sum`` format records the digest so that a rerun can tell an unchanged archive.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.archive_reader import read_all
from ansible_collections.offsite.mongodb.plugins.module_utils.compression import decompressing_reader
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError

BUFFER = 1 << 20
SIDECAR_SUFFIX = ".sha256"


def sidecar_path(path: str) -> str:
    return path + SIDECAR_SUFFIX


def file_sha256(path: str) -> str:
    """SHA-256 of a whole file (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(BUFFER), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_sidecar(path: str) -> Optional[str]:
    """The digest recorded next to ``path``, or None."""
    try:
        text = Path(sidecar_path(path)).read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    digest = text.split(" ", 1)[0].strip().lower()
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None


def _write_private(path: str, data: bytes) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".offsite-", suffix=".partial")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


class AtomicFile:
    """A new file at ``path`` that appears only on ``commit``; ``abort`` (or an exception) leaves nothing."""

    def __init__(self, path: str) -> None:
        self.path = os.path.abspath(path)
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise OffsiteError(f"the directory of dest {directory} does not exist: create it first")
        try:
            fd, self._temporary = tempfile.mkstemp(
                dir=directory, prefix=f".{os.path.basename(self.path)}.", suffix=".partial"
            )
        except OSError as exc:
            raise OffsiteError(
                f"cannot create a file in {directory}: {exc.strerror}; check its permissions"
            ) from None
        os.fchmod(fd, 0o600)
        self._file = os.fdopen(fd, "wb", buffering=0)
        self._buffer = bytearray()
        self._digest = hashlib.sha256()
        self.size = 0
        self.sha256: Optional[str] = None

    def write(self, data: bytes) -> int:
        self._buffer += data
        if len(self._buffer) >= BUFFER:
            self._flush()
        return len(data)

    def _flush(self) -> None:
        if self._buffer:
            self._digest.update(self._buffer)
            try:
                self._file.write(self._buffer)
            except OSError as exc:
                self._failed(exc)
            self.size += len(self._buffer)
            self._buffer = bytearray()

    def _failed(self, exc: OSError) -> None:
        self.abort()
        raise OffsiteError(
            f"writing {self.path} failed ({exc.strerror or exc}): nothing was kept; free space or choose "
            "another dest and run again"
        ) from None

    def commit(self, sidecar: bool = True) -> str:
        """Flush, fsync, rename into place and write the sidecar; returns the SHA-256."""
        self._flush()
        try:
            os.fsync(self._file.fileno())
            self._file.close()
            os.replace(self._temporary, self.path)
        except OSError as exc:
            self._failed(exc)
        self.sha256 = self._digest.hexdigest()
        if sidecar:
            try:
                _write_private(
                    sidecar_path(self.path), f"{self.sha256}  {os.path.basename(self.path)}\n".encode()
                )
            except OSError as exc:
                remove_quietly(self.path)
                self._failed(exc)
        directory = os.open(os.path.dirname(self.path), os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return self.sha256

    def abort(self) -> None:
        """Remove the temporary file."""
        if not self._file.closed:
            self._file.close()
        with contextlib.suppress(OSError):
            os.unlink(self._temporary)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: Any, *rest: Any) -> None:
        if exc_type is not None or self.sha256 is None:
            self.abort()


class HashingReader:
    """Reads ``source`` and keeps the SHA-256 and size of everything read."""

    def __init__(self, source: Any) -> None:
        self._source = source
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, size: int = -1) -> bytes:
        data = self._source.read(size)
        self._digest.update(data)
        self.size += len(data)
        return data

    def readable(self) -> bool:
        return True

    def drain(self) -> None:
        """Read to the end (so the digest covers the whole source)."""
        while self.read(BUFFER):
            pass

    @property
    def sha256(self) -> str:
        return self._digest.hexdigest()


def remove_quietly(path: str) -> None:
    """Remove a file if it is there."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def check_archive_file(path: str, consequence: str = "nothing was stored") -> None:
    """Read the whole archive file (any compression) with every check; a one-line error if it is not whole."""
    with open(path, "rb") as handle:
        try:
            stream, _compression = decompressing_reader(handle)
            read_all(stream, parse_metadata=True)
        except OffsiteError as exc:
            raise OffsiteError(f"{path} is not a whole mongodump archive ({exc}); {consequence}") from None


def check_file_sha256(path: str, expected: str, source: str, consequence: str) -> None:
    """A one-line error when the file's SHA-256 is not ``expected`` (recorded by ``source``)."""
    actual = file_sha256(path)
    if actual != expected.strip().lower():
        raise OffsiteError(
            f"src {path} is corrupt or not the archive meant: its SHA-256 is {actual}, not the {expected} of {source}; "
            f"{consequence}"
        )
