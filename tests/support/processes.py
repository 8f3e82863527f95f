"""Start test servers as real processes on loopback and stop them by PID."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable, Sequence


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, alive: Callable[[], bool] = lambda: True) -> None:
    """Wait until something accepts connections on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"server process for port {port} exited before it listened")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


class ServerProcess:
    """One server process in its own process group; ``stop`` kills exactly that group."""

    def __init__(self, argv: Sequence[str], port: int, log_path: Path) -> None:
        self.port = port
        self.log_path = log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid = self.process.pid
        try:
            wait_for_port(port, alive=lambda: self.process.poll() is None)
        except RuntimeError:
            self.stop()
            raise RuntimeError(
                f"{argv[0]} did not start: {log_path.read_text(errors='replace')[-2000:]}"
            ) from None

    def stop(self) -> None:
        """Terminate the process group by PID, then kill it if it lingers."""
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
