"""A readable stream over one S3 object: parallel ranged GETs, delivered in order, SHA-256 checked at EOF.

Memory stays bounded at about ``max_concurrency * part_size``. The object is pinned by its ETag
(``IfMatch``) so a concurrent overwrite fails the read instead of mixing two objects. Reaching the end
with the wrong size or digest raises ``OffsiteError``: callers must not keep what they wrote.
"""

from __future__ import annotations

import collections
import hashlib
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Deque, Iterator, Optional, Sequence

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_connection import s3_errors
from ansible_collections.offsite.mongodb.plugins.module_utils.s3_upload import DEFAULT_PART_SIZE, MiB


class DownloadStream:
    """``read(n)`` / ``iter_chunks()`` over ``s3://bucket/key``, verified against ``expected_sha256``."""

    def __init__(
        self,
        client: Any,
        bucket: str,
        key: str,
        *,
        size: int,
        expected_sha256: Optional[str],
        part_size: int = DEFAULT_PART_SIZE,
        max_concurrency: int = 4,
        etag: Optional[str] = None,
        extra_args: Optional[dict] = None,
        secrets: Sequence[str] = (),
    ) -> None:
        self.client = client
        self.bucket = bucket
        self.key = key
        self.size = size
        self.expected_sha256 = expected_sha256
        self.part_size = max(MiB, int(part_size))
        self.concurrency = max(1, int(max_concurrency))
        self.extra_args = dict(extra_args or {})
        if etag:
            self.extra_args["IfMatch"] = etag
        self.secrets = secrets
        self.sha256 = hashlib.sha256()
        self.received = 0
        self.verified = False
        self._chunks = self._generate()
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n`` < 0); ``b''`` at the verified end."""
        if n is None or n < 0:
            return b"".join([bytes(self._pending), *self._chunks_left()])
        while not len(self._pending):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._pending = memoryview(chunk)
        piece, self._pending = self._pending[:n], self._pending[n:]
        return bytes(piece)

    def _chunks_left(self) -> Iterator[bytes]:
        self._pending = memoryview(b"")
        yield from self._chunks

    def iter_chunks(self) -> Iterator[bytes]:
        """The object's bytes in order, one part at a time; verified before the iterator ends."""
        if len(self._pending):
            yield bytes(self._pending)
            self._pending = memoryview(b"")
        yield from self._chunks

    def close(self) -> None:
        self._chunks.close()

    def __enter__(self) -> DownloadStream:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _fetch(self, start: int, end: int) -> bytes:
        with s3_errors(self.client, "download the archive", self.bucket, self.key, self.secrets):
            response = self.client.get_object(
                Bucket=self.bucket, Key=self.key, Range=f"bytes={start}-{end}", **self.extra_args
            )
            body = response["Body"].read()
        total = str(response.get("ContentRange", "")).rpartition("/")[2]
        if total.isdigit() and int(total) != self.size:
            raise OffsiteError(
                f"s3://{self.bucket}/{self.key} has {total} bytes, not the {self.size} its manifest records: "
                "the object was replaced or is corrupt; restore another backup"
            )
        return body

    def _generate(self) -> Iterator[bytes]:
        ranges = [
            (start, min(start + self.part_size, self.size) - 1)
            for start in range(0, self.size, self.part_size)
        ]
        if not ranges:
            ranges = [(0, -1)]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="s3-get") as pool:
            queue: Deque[Future] = collections.deque()
            todo = iter(ranges)
            try:
                for start, end in todo:
                    if end < start:  # empty object: nothing to fetch
                        break
                    queue.append(pool.submit(self._fetch, start, end))
                    if len(queue) >= self.concurrency:
                        break
                while queue:
                    chunk = queue.popleft().result()
                    following = next(todo, None)
                    if following is not None:
                        queue.append(pool.submit(self._fetch, *following))
                    self._account(chunk)
                    yield chunk
            finally:
                for future in queue:
                    future.cancel()
        self._verify()

    def _account(self, chunk: bytes) -> None:
        self.received += len(chunk)
        if self.received > self.size:
            raise OffsiteError(
                f"s3://{self.bucket}/{self.key} is longer than the {self.size} bytes its manifest records: "
                "the object was replaced or is corrupt; restore another backup"
            )
        self.sha256.update(chunk)

    def _verify(self) -> None:
        digest = self.sha256.hexdigest()
        if self.received != self.size:
            raise OffsiteError(
                f"s3://{self.bucket}/{self.key} has {self.received} bytes, not the {self.size} its manifest "
                "records: the object is corrupt; restore another backup"
            )
        if self.expected_sha256 and digest != self.expected_sha256:
            raise OffsiteError(
                f"s3://{self.bucket}/{self.key} has SHA-256 {digest}, not the {self.expected_sha256} its manifest "
                "records: the object is corrupt; restore another backup"
            )
        self.verified = True
