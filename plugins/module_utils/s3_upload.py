"""A writable stream that uploads to one S3 object as bytes are produced (boto3 multipart calls).

Memory stays bounded at about ``(max_concurrency + 1) * part size``; the SHA-256 is computed on the
way, part by part in a thread of its own (hashlib releases the GIL), so hashing overlaps producing
and sending; the part size grows so any object S3 accepts (5 TiB) fits in 10,000 parts even when the
length is unknown; a stream smaller than one part becomes a single PUT. Any failure, ``abort()``, or leaving
a ``with`` block by an exception aborts the multipart upload: no orphan parts, no object.
"""

from __future__ import annotations

import collections
import hashlib
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Deque, Dict, List, Mapping, Optional, Sequence

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import error_code, s3_errors

MiB = 1024 * 1024
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * 1024 * MiB
MAX_PARTS = 10000
MAX_OBJECT_SIZE = 5 * 1024 * 1024 * MiB
DEFAULT_PART_SIZE = 8 * MiB
GROWTH_STRIDE = (
    900  # unknown length: the part size doubles every this many parts (5 MiB base reaches 8.8 TiB)
)
ABORT_RETRY_SECONDS = 60.0  # how long an abort is retried while S3 is unreachable
DEFAULT_CHECKSUM_ALGORITHM = "CRC32"  # what boto3's upload_file declares (s3transfer), see checksum_args
CHECKSUM_KEYS = ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumCRC64NVME", "ChecksumSHA1", "ChecksumSHA256")


def fixed_part_size(size: int, part_size: int = DEFAULT_PART_SIZE) -> int:
    """For a known ``size``: ``part_size``, raised (to whole MiB) so the object fits in 10,000 parts."""
    if size > MAX_OBJECT_SIZE:
        raise OffsiteError(f"the archive is {size} bytes, more than the 5 TiB S3 accepts in one object")
    needed = -(-size // MAX_PARTS)
    needed = -(-needed // MiB) * MiB
    return min(MAX_PART_SIZE, max(MIN_PART_SIZE, part_size, needed))


def growing_part_size(part_number: int, part_size: int = DEFAULT_PART_SIZE) -> int:
    """For an unknown length: the size of part ``part_number`` (1-based), doubling every GROWTH_STRIDE parts."""
    base = max(MIN_PART_SIZE, part_size)
    return min(MAX_PART_SIZE, base << ((part_number - 1) // GROWTH_STRIDE))


def checksum_args(client: Any, extra_args: Mapping[str, Any]) -> Dict[str, Any]:
    """The checksum algorithm to declare for the object, as boto3's ``upload_file`` does.

    botocore (1.36+) sends a CRC32 of every part unless ``request_checksum_calculation`` is
    ``when_required``; declaring that algorithm when the upload starts makes S3 keep those part checksums
    as the object's (composite) checksum instead of computing a CRC64NVME of the whole object itself.
    """
    if any(key.startswith("Checksum") for key in extra_args):
        return {}
    config = getattr(getattr(client, "meta", None), "config", None)
    if getattr(config, "request_checksum_calculation", None) != "when_supported":
        return {}
    return {"ChecksumAlgorithm": DEFAULT_CHECKSUM_ALGORITHM}


@dataclass(frozen=True)
class UploadResult:
    """What a finished upload stored."""

    bucket: str
    key: str
    size: int
    sha256: str
    etag: str
    parts: int
    version_id: Optional[str] = None


class UploadStream:
    """``write(bytes)`` as data is produced, then ``close()`` to complete the object (or ``abort()``)."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        extra_args: Optional[Mapping[str, Any]] = None,
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = 4,
        size: Optional[int] = None,
        expected_sha256: Optional[str] = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.extra_args = dict(extra_args or {})
        self.checksum = checksum_args(client, self.extra_args)
        self.extra_args.update(self.checksum)
        self.owner = {k: v for k, v in self.extra_args.items() if k == "ExpectedBucketOwner"}
        self.size_hint = size
        self.expected_sha256 = expected_sha256
        self.secrets = secrets
        self.base_part_size = max(MIN_PART_SIZE, part_size)
        self.fixed = fixed_part_size(size, part_size) if size is not None else None
        self.concurrency = max(1, int(max_concurrency))
        self.result: Optional[UploadResult] = None
        self._sha = hashlib.sha256()
        self._hasher: Optional[ThreadPoolExecutor] = None  # one thread: parts are hashed in order
        self._hashing: Deque[Future] = collections.deque()  # parts not hashed yet (bounded, like the uploads)
        self._buffer = bytearray()
        self._filled = 0
        self._written = 0
        self._part_number = 0
        self._upload_id: Optional[str] = None
        self._futures: List[Future] = []
        self._slots = threading.BoundedSemaphore(self.concurrency)
        self._pool: Optional[ThreadPoolExecutor] = None
        self._closed = False
        self._failed: Optional[BaseException] = None

    # -- the stream API -------------------------------------------------------------------------
    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        """Take ``data`` (bytes-like); full parts go to S3 in the background. Returns ``len(data)``."""
        if self._closed:
            raise OffsiteError(f"upload of s3://{self.bucket}/{self.key} is already closed: open a new one")
        view = memoryview(data).cast("B")
        length = len(view)
        self._written += length
        try:
            if not self._filled and isinstance(data, bytes) and length == self._current_part_size():
                self._complete_part(data)  # a whole part as produced: no copy
                return length
            while len(view):
                part_size = self._current_part_size()
                if not self._filled:
                    self._buffer = bytearray(part_size)  # one copy per byte, no regrowth
                room = min(part_size - self._filled, len(view))
                self._buffer[self._filled : self._filled + room] = view[:room]
                self._filled += room
                view = view[room:]
                if self._filled == part_size:
                    self._complete_part(self._buffer)
                    self._buffer, self._filled = bytearray(), 0
        except BaseException as exc:
            self._fail(exc)
        return length

    def _complete_part(self, part: Any) -> None:
        """A full part (never written to again): hash it in order, in the background, and send it."""
        self._hash(part)
        self._send(part)

    def _hash(self, data: Any) -> None:
        if self._hasher is None:
            self._hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="s3-sha256")
        while len(self._hashing) > self.concurrency:  # memory stays bounded if hashing ever lags
            self._hashing.popleft().result()
        self._hashing.append(self._hasher.submit(self._sha.update, data))

    def _digest(self) -> str:
        """The SHA-256 of everything written, once the hashing thread has caught up."""
        if self._hasher is not None:
            self._hasher.shutdown(wait=True)
            self._hasher = None
        while self._hashing:
            self._hashing.popleft().result()
        return self._sha.hexdigest()

    def _fail(self, exc: BaseException) -> None:
        """Abort the upload and raise a one-line ``OffsiteError`` that says whether the abort worked."""
        left_behind = self.abort_quietly()
        message = (
            str(exc)
            if isinstance(exc, OffsiteError)
            else (f"upload of s3://{self.bucket}/{self.key} failed and was aborted (nothing stored): {exc}")
        )
        raise OffsiteError(message + left_behind) from None

    def abort_quietly(self) -> str:
        """``abort()``; returns ``""``, or the sentence to add to a failure when the upload is left behind."""
        try:
            self.abort()
        except OffsiteError as exc:
            return (
                f"; the unfinished multipart upload could not be aborted ({exc}): the next backup of this set "
                "or a prune removes it"
            )
        return ""

    def close(self) -> UploadResult:
        """Send what is left and complete the object; on any failure abort and raise ``OffsiteError``."""
        if self.result is not None:
            return self.result
        if self._closed:
            raise OffsiteError(f"upload of s3://{self.bucket}/{self.key} was aborted: nothing was stored")
        try:
            if self._filled:  # the last, short part: cut in place (no copy)
                del self._buffer[self._filled :]
                self._hash(self._buffer)
            digest = self._digest()
            if self.expected_sha256 and digest != self.expected_sha256:
                raise OffsiteError(
                    f"the data has SHA-256 {digest}, not the expected {self.expected_sha256}: "
                    "nothing was stored; check the source archive and the sha256 option"
                )
            if self.size_hint is not None and self._written != self.size_hint:
                raise OffsiteError(
                    f"the stream gave {self._written} bytes, not the announced {self.size_hint}: nothing was stored"
                )
            self.result = self._finish(digest)
        except BaseException as exc:
            self._fail(exc)
        self._closed = True
        return self.result

    def abort(self) -> None:
        """Stop: wait for parts in flight, abort the multipart upload (no parts left behind), store nothing."""
        self._closed = True
        self._buffer, self._filled = bytearray(), 0
        if self._hasher is not None:
            self._hasher.shutdown(wait=True, cancel_futures=True)
            self._hasher = None
        for future in self._futures:
            future.cancel()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
        if self._upload_id is not None:
            upload_id, self._upload_id = self._upload_id, None
            with s3_errors(self.client, "abort the multipart upload", self.bucket, self.key, self.secrets):
                abort_with_retry(self.client, self.bucket, self.key, upload_id, owner=self.owner)

    def __enter__(self) -> UploadStream:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            left_behind = self.abort_quietly()
            if left_behind and isinstance(exc, OffsiteError):
                raise OffsiteError(str(exc) + left_behind) from None

    # -- internals ------------------------------------------------------------------------------
    def _current_part_size(self) -> int:
        if self.fixed is not None:
            return self.fixed
        return growing_part_size(self._part_number + 1, self.base_part_size)

    def _send(self, data: Any) -> None:
        """Hand one full part to the pool, blocking while ``max_concurrency`` parts are in flight."""
        if self._part_number >= MAX_PARTS:
            raise OffsiteError("the upload needs more than 10,000 parts: raise part_size")
        self._check_failures()
        if self._upload_id is None:
            with s3_errors(self.client, "start a multipart upload", self.bucket, self.key, self.secrets):
                response = self.client.create_multipart_upload(
                    Bucket=self.bucket, Key=self.key, **self.extra_args
                )
            self._upload_id = response["UploadId"]
            self._pool = ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="s3-part")
        self._part_number += 1
        self._slots.acquire()
        try:
            future = self._pool.submit(self._upload_part, self._part_number, data)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _f: self._slots.release())
        self._futures.append(future)

    def _upload_part(self, number: int, body: Any) -> Dict[str, Any]:
        with s3_errors(self.client, f"upload part {number}", self.bucket, self.key, self.secrets):
            response = self.client.upload_part(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                PartNumber=number,
                Body=body,
                **self.checksum,
                **self.owner,
            )
        part = {"PartNumber": number, "ETag": response["ETag"]}
        part.update({k: response[k] for k in CHECKSUM_KEYS if response.get(k)})
        return part

    def _check_failures(self) -> None:
        for future in self._futures:
            if future.done() and future.exception() is not None:
                raise future.exception()

    def _finish(self, digest: str) -> UploadResult:
        if self._upload_id is None:  # everything fit in one part: a single PUT
            body = self._buffer
            with s3_errors(self.client, "upload the object", self.bucket, self.key, self.secrets):
                response = self.client.put_object(
                    Bucket=self.bucket, Key=self.key, Body=body, **self.extra_args
                )
            return self._result(digest, response, parts=1)
        if len(self._buffer):
            self._send(self._buffer)
            self._buffer, self._filled = bytearray(), 0
        parts = [future.result() for future in self._futures]
        self._pool.shutdown(wait=True)
        with s3_errors(self.client, "complete the multipart upload", self.bucket, self.key, self.secrets):
            response = self.client.complete_multipart_upload(
                Bucket=self.bucket,
                Key=self.key,
                UploadId=self._upload_id,
                MultipartUpload={"Parts": parts},
                **self.owner,
            )
        self._upload_id = None
        return self._result(digest, response, parts=len(parts))

    def _result(self, digest: str, response: Mapping[str, Any], parts: int) -> UploadResult:
        """What S3 stored, from the response that completed the object."""
        return UploadResult(
            self.bucket,
            self.key,
            self._written,
            digest,
            response.get("ETag", ""),
            parts,
            response.get("VersionId"),
        )


def abort_with_retry(
    client: Any,
    bucket: str,
    key: str,
    upload_id: str,
    *,
    owner: Optional[Mapping[str, Any]] = None,
    within: Optional[float] = None,
) -> None:
    """Abort one multipart upload, retrying with backoff for ``within`` seconds while S3 fails.

    An upload that is already gone (``NoSuchUpload``) counts as aborted. The last failure is raised.
    """
    deadline = time.monotonic() + (ABORT_RETRY_SECONDS if within is None else within)
    delay = 0.5
    while True:
        try:
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, **dict(owner or {}))
            return
        except Exception as exc:
            if error_code(exc) == "NoSuchUpload":
                return
            if time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 8.0)
