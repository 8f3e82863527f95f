"""The lease that releases a forgotten fsync lock.

A lease is a small JSON file (mode 0600) that names an expiry time and a random token, watched by a
detached watchdog process. The watchdog connects and authenticates *before* the lock is taken (a
locked server can be slow to accept new logins), outlives the module's process, and when the
expiry passes it releases every fsync lock on the node. It stands down when the file disappears
(``state: unlocked`` ran) or carries another token (a newer lease replaced it); renewing a lease
just moves the expiry in the file. Credentials reach the watchdog in memory, never on a command line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import signal
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from ansible_collections.offsite.mongodb.plugins.module_utils.errors import OffsiteError
from ansible_collections.offsite.mongodb.plugins.module_utils.mongo_connection import ConnectionOptions

KEEPALIVE_SECONDS = 60.0
RETRY_SECONDS = 5.0


@dataclass(frozen=True)
class Lease:
    """One lease as stored in its file."""

    token: str
    expires_at: float
    watchdog_pid: int

    def watchdog_alive(self) -> bool:
        try:
            os.kill(self.watchdog_pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True


def default_lease_dir() -> Path:
    return Path(tempfile.gettempdir()) / f"offsite-mongodb-leases-{os.getuid()}"


def lease_path(directory: Optional[str], options: ConnectionOptions) -> Path:
    """The lease file for the node ``options`` points at (one lease per node)."""
    base = Path(directory) if directory else default_lease_dir()
    digest = hashlib.sha256(options.safe_address().encode()).hexdigest()[:20]
    return base / f"fsync-lease-{digest}.json"


def read_lease(path: Path) -> Optional[Lease]:
    try:
        data = json.loads(path.read_text())
        return Lease(str(data["token"]), float(data["expires_at"]), int(data["watchdog_pid"]))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None


def write_lease(path: Path, lease: Lease) -> None:
    """Write the lease atomically with mode 0600 (its directory 0700)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=str(path.parent), prefix=".lease-")
    try:
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {"token": lease.token, "expires_at": lease.expires_at, "watchdog_pid": lease.watchdog_pid},
                handle,
            )
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def cancel_lease(path: Path) -> Optional[Lease]:
    """Remove the lease file (its watchdog then exits); returns the lease that was there."""
    lease = read_lease(path)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    return lease


def stop_watchdog(lease: Lease) -> None:
    """End the watchdog of a lease that was never armed (the lock it was to guard was not taken)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(lease.watchdog_pid, signal.SIGTERM)


def renew_lease(path: Path, lease: Lease, seconds: int) -> Lease:
    renewed = Lease(lease.token, time.time() + seconds, lease.watchdog_pid)
    write_lease(path, renewed)
    return renewed


def start_watchdog(
    path: Path,
    seconds: int,
    *,
    connect: Callable[[], Any],
    release: Callable[[Any], int],
    startup_grace: float,
) -> Lease:
    """Fork a detached watchdog that has already connected, and return its (not yet written) lease.

    ``connect()`` runs in the watchdog and returns a client; ``release(client)`` unlocks everything
    and returns how many locks it released. The caller writes the lease with ``write_lease`` once the
    lock is held; a watchdog that sees no lease file within ``startup_grace`` seconds exits.
    """
    token = secrets.token_hex(16)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked processes
        os.close(read_end)
        _become_daemon(write_end)
        _run_watchdog(
            path,
            token=token,
            connect=connect,
            release=release,
            startup_grace=startup_grace,
            report_fd=write_end,
        )
        os._exit(0)
    os.close(write_end)
    os.waitpid(child, 0)
    with os.fdopen(read_end, "rb") as pipe:
        answer = pipe.read().decode(errors="replace").strip()
    status, detail = [*answer.split(" ", 1), ""][:2]
    if status != "ready":
        raise OffsiteError(f"the lease watchdog could not start: {detail or 'it exited without a word'}")
    return Lease(token, time.time() + seconds, int(detail))


def _become_daemon(keep_fd: int) -> None:  # pragma: no cover - runs in the forked processes
    """Double fork into a new session, away from the module's stdio and working directory."""
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    os.chdir("/")
    os.umask(0o077)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.closerange(3, keep_fd)
    os.closerange(keep_fd + 1, 4096)


def _run_watchdog(
    path: Path,
    *,
    token: str,
    connect: Callable[[], Any],
    release: Callable[[Any], int],
    startup_grace: float,
    report_fd: int,
) -> None:  # pragma: no cover - runs in the forked processes
    log = _Log(path.with_suffix(".log"))
    try:
        client = connect()
    except Exception as exc:
        os.write(report_fd, f"error {' '.join(str(exc).split())}".encode())
        os.close(report_fd)
        return
    os.write(report_fd, f"ready {os.getpid()}".encode())
    os.close(report_fd)
    appeared_by = time.time() + startup_grace
    seen = False
    last_ping = time.monotonic()
    while True:
        lease = read_lease(path)
        if lease is None and not seen and time.time() < appeared_by:
            time.sleep(0.2)
            continue
        if lease is None or lease.token != token:
            log.write(
                "lease cancelled or replaced; standing down" if seen else "lease never written; exiting"
            )
            return
        seen = True
        remaining = lease.expires_at - time.time()
        if remaining <= 0:
            try:
                released = release(client)
            except Exception as exc:
                log.write(f"lease expired but unlocking failed, retrying: {' '.join(str(exc).split())}")
                time.sleep(RETRY_SECONDS)
                continue
            log.write(f"lease expired; released {released} fsync lock(s)")
            if (read_lease(path) or lease).token == token:
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
            return
        if time.monotonic() - last_ping > KEEPALIVE_SECONDS:
            with contextlib.suppress(Exception):
                client.admin.command("ping")
            last_ping = time.monotonic()
        time.sleep(min(remaining, 0.5))


class _Log:
    """Append-only watchdog log beside the lease file (what happened, never secrets)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def write(self, line: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        with contextlib.suppress(OSError):
            fd = os.open(str(self.path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "a") as handle:
                handle.write(f"{stamp} {line}\n")
