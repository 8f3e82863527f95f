"""Local archive files: atomic (nothing at dest until commit), private, hashed; a full disk leaves nothing."""

from __future__ import annotations

import errno
import hashlib
import io
import os
import stat

import pytest

from ansible_collections.offsite.mongodb.plugins.module_utils import local_files
from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.local_files import (
    AtomicFile,
    HashingReader,
    check_archive_file,
    file_sha256,
    read_sidecar,
    remove_quietly,
    sidecar_path,
)
from ansible_collections.offsite.mongodb.tests.unit.helpers.archives import small_archive

DATA = os.urandom(3 * local_files.BUFFER + 17)


def test_commit_puts_the_whole_file_in_place_with_its_digest(tmp_path):
    dest = tmp_path / "dump.archive"
    with AtomicFile(str(dest)) as sink:
        for start in range(0, len(DATA), 100_000):
            sink.write(DATA[start : start + 100_000])
        assert not dest.exists()  # nothing at dest while writing
        digest = sink.commit()
    assert dest.read_bytes() == DATA
    assert digest == hashlib.sha256(DATA).hexdigest() == file_sha256(str(dest))
    assert sink.size == len(DATA)
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert read_sidecar(str(dest)) == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dump.archive", "dump.archive.sha256"]


def test_abort_and_exceptions_leave_nothing(tmp_path):
    dest = tmp_path / "dump.archive"
    sink = AtomicFile(str(dest))
    sink.write(DATA)
    sink.abort()
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(RuntimeError), AtomicFile(str(dest)) as failing:
        failing.write(DATA)
        raise RuntimeError("the dump broke")
    assert list(tmp_path.iterdir()) == []


def test_leaving_without_commit_leaves_nothing(tmp_path):
    with AtomicFile(str(tmp_path / "a")) as sink:
        sink.write(b"x")
    assert list(tmp_path.iterdir()) == []


class _FullDisk:
    """The temporary file's handle, out of space after ``room`` bytes."""

    def __init__(self, real, room: int) -> None:
        self.real = real
        self.room = room

    def write(self, data):
        if len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self.room -= len(data)
        return self.real.write(data)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_a_full_disk_fails_with_one_line_and_leaves_nothing(tmp_path):
    dest = tmp_path / "dump.archive"
    sink = AtomicFile(str(dest))
    sink._file = _FullDisk(sink._file, room=local_files.BUFFER)
    with pytest.raises(OffsiteError) as caught:
        sink.write(DATA)  # more than a buffer: flushed at once, into a disk with room for one buffer
    message = str(caught.value)
    assert message.startswith(f"writing {dest} failed (No space left on device): nothing was kept")
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_at_the_sidecar_removes_the_archive_too(tmp_path, monkeypatch):
    def no_space(path, data):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(local_files, "_write_private", no_space)
    dest = tmp_path / "dump.archive"
    with pytest.raises(OffsiteError, match="No space left on device"), AtomicFile(str(dest)) as sink:
        sink.write(b"archive bytes")
        sink.commit()
    assert list(tmp_path.iterdir()) == []


def test_dest_in_a_missing_directory_is_a_one_line_error(tmp_path):
    with pytest.raises(OffsiteError, match="does not exist: create it first"):
        AtomicFile(str(tmp_path / "missing" / "a.archive"))


def test_sidecars_that_are_not_a_digest_are_ignored(tmp_path):
    path = str(tmp_path / "a.archive")
    assert read_sidecar(path) is None
    with open(sidecar_path(path), "w") as handle:
        handle.write("not a digest  a.archive\n")
    assert read_sidecar(path) is None
    with open(sidecar_path(path), "w") as handle:
        handle.write(("AB" * 32) + "  a.archive\n")
    assert read_sidecar(path) == "ab" * 32


def test_hashing_reader_hashes_what_passes_and_the_rest_on_drain():
    reader = HashingReader(io.BytesIO(DATA))
    assert reader.read(10) == DATA[:10]
    reader.drain()
    assert (reader.size, reader.sha256) == (len(DATA), hashlib.sha256(DATA).hexdigest())


def test_only_whole_archives_pass_the_check(tmp_path):
    good = tmp_path / "good.archive.gz"
    good.write_bytes(small_archive({"shop.orders": 3}, "gzip"))
    check_archive_file(str(good))
    cut = tmp_path / "cut.archive"
    cut.write_bytes(small_archive({"shop.orders": 3})[:-10])
    other = tmp_path / "notes.txt"
    other.write_bytes(b"hello")
    for path in (cut, other):
        with pytest.raises(
            OffsiteError, match=f"^{path} is not a whole mongodump archive .*; nothing was stored$"
        ):
            check_archive_file(str(path))


def test_remove_quietly(tmp_path):
    path = tmp_path / "x"
    path.write_text("x")
    remove_quietly(str(path))
    remove_quietly(str(path))
    assert not path.exists()
