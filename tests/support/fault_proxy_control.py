"""Start the fault proxy (``fault_proxy.py``) as its own process and drive its control endpoint."""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

from . import fault_proxy
from .processes import ServerProcess, free_port, wait_for_port


@dataclass
class FaultProxy:
    """A running proxy process and its control endpoint (see ``start_fault_proxy``)."""

    port: int
    control_port: int
    process: Any = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def _call(self, method: str, path: str, payload: Optional[Dict[str, Any]] = None) -> Any:
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.control_port}{path}", data=data, method=method
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback only
            return json.loads(response.read())

    def add(self, action: str, **rule: Any) -> None:
        """Program one fault (see ``Rule``)."""
        self._call("POST", "/rules", {"action": action, **rule})

    def clear(self) -> None:
        """Remove every rule and bring the proxy up; the event log is emptied too."""
        self._call("DELETE", "/rules")
        self._call("DELETE", "/events")
        self.up()

    def down(self) -> None:
        self._call("POST", "/down")

    def up(self) -> None:
        self._call("POST", "/up")

    def events(self, kind: str = "request") -> List[Dict[str, Any]]:
        return [event for event in self._call("GET", "/events") if event.get("kind") == kind]

    def rules(self) -> List[Dict[str, Any]]:
        return self._call("GET", "/rules")

    def wait_for(
        self, predicate: Callable[[Dict[str, Any]], bool], timeout: float = 60, kind: str = "request"
    ):
        """The first event that satisfies ``predicate`` (polls the log)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events(kind):
                if predicate(event):
                    return event
            time.sleep(0.05)
        raise AssertionError(
            f"the proxy saw no matching {kind} within {timeout} s: {self.events(kind)[-10:]}"
        )

    def stop(self) -> None:
        self.process.stop()


def start_fault_proxy(target_port: int, mode: str, log_dir: Path) -> FaultProxy:
    """Start the proxy as its own process (stopped by PID) in front of ``127.0.0.1:target_port``."""
    port, control_port = free_port(), free_port()
    argv = [
        sys.executable, str(Path(fault_proxy.__file__).resolve()), "--mode", mode, "--port", str(port),
        "--control-port", str(control_port), "--target-port", str(target_port),
    ]  # fmt: skip
    process = ServerProcess(argv, port, log_dir / f"fault-proxy-{mode}-{port}.log")
    wait_for_port(control_port)
    return FaultProxy(port, control_port, process)
