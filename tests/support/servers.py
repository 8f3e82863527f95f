"""The test servers: moto's S3 server and the nx-27017 MongoDB stand-in, or real ones from the environment."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Optional

import boto3

from .processes import ServerProcess, free_port

BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class S3Endpoint:
    """Where the tests' S3 lives, and whether it is moto (the stand-in) or a real store."""

    endpoint_url: str
    access_key: str
    secret_key: str
    region: str
    real: bool

    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
        )


def s3_endpoint(workdir: Path) -> Iterator[S3Endpoint]:
    """``OFFSITE_TEST_S3_ENDPOINT`` (+ credentials) when set, otherwise a moto server on loopback."""
    real = os.environ.get("OFFSITE_TEST_S3_ENDPOINT")
    if real:
        yield S3Endpoint(
            endpoint_url=real,
            access_key=os.environ["OFFSITE_TEST_S3_ACCESS_KEY"],
            secret_key=os.environ["OFFSITE_TEST_S3_SECRET_KEY"],
            region=os.environ.get("OFFSITE_TEST_S3_REGION", "us-east-1"),
            real=True,
        )
        return
    port = free_port()
    server = ServerProcess(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], port, workdir / "moto.log"
    )
    try:
        yield S3Endpoint(f"http://127.0.0.1:{port}", "testing", "testing", "us-east-1", real=False)
    finally:
        server.stop()


@dataclass(frozen=True)
class MongoServer:
    """A MongoDB URI for the tests, and whether it is a real server or the nx-27017 stand-in."""

    uri: str
    real: bool
    pid: Optional[int] = None


def mongo_server(workdir: Path) -> Iterator[MongoServer]:
    """``OFFSITE_TEST_MONGODB_URI`` when set, otherwise nx-27017 on loopback with its own data dir."""
    real = os.environ.get("OFFSITE_TEST_MONGODB_URI")
    if real:
        yield MongoServer(real, real=True)
        return
    port = free_port()
    data = workdir / "nx-data"
    data.mkdir()
    argv = [
        str(BIN / "nx-27017"),
        "--data-dir", str(data),
        "-p", str(port),
        "--log-file", str(workdir / "nx.log"),
        "--pid-file", str(workdir / "nx.pid"),
    ]  # fmt: skip
    server = ServerProcess(argv, port, workdir / "nx.out")
    try:
        yield MongoServer(f"mongodb://127.0.0.1:{port}/?directConnection=true", real=False, pid=server.pid)
    finally:
        server.stop()
