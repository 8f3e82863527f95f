"""Start ``ansible`` / ``ansible-playbook`` in the background, so a test can break things while they run."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from . import process_tree
from .ansible_runner import ansible_env

BIN = Path(sys.executable).parent


@dataclass
class Background:
    """A running ansible process; ``finish`` waits and returns its results (JSON callback records)."""

    process: subprocess.Popen
    results: Path
    scratch: Any

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL the run and every process it started (when still running), by PID."""
        if self.process.poll() is None:
            for pid in [self.pid, *process_tree.descendants(self.pid)]:
                process_tree.kill(pid)
        self.process.communicate()
        self.scratch.cleanup()

    def finish(self, timeout: float = 300) -> Dict[str, Any]:
        """Wait for the end; ``rc``, ``output`` and every task result (``records``)."""
        output, _unused = self.process.communicate(timeout=timeout)
        records: List[Dict[str, Any]] = []
        if self.results.exists():
            records = [json.loads(line) for line in self.results.read_text().splitlines() if line.strip()]
        self.scratch.cleanup()
        return {"rc": self.process.returncode, "output": output, "records": records}


def start(
    argv: Sequence[str],
    env: Optional[Mapping[str, str]] = None,
    preexec_fn: Optional[Callable[[], None]] = None,
) -> Background:
    scratch = tempfile.TemporaryDirectory(prefix="offsite-background-")
    results = Path(scratch.name) / "results.jsonl"
    process = subprocess.Popen(
        [str(BIN / argv[0]), *argv[1:]],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=ansible_env({**(env or {}), "OFFSITE_TEST_RESULTS": str(results)}),
        preexec_fn=preexec_fn,  # noqa: PLW1509 - only resource limits, set before exec
    )
    return Background(process, results, scratch)


def start_module(
    module: str, args: Mapping[str, Any], env: Optional[Mapping[str, str]] = None, **kwargs: Any
) -> Background:
    """``ansible localhost -m offsite.mongodb.<module> -a <json>`` in the background."""
    argv = [
        "ansible",
        "localhost",
        "-c",
        "local",
        "-m",
        f"offsite.mongodb.{module}",
        "-a",
        json.dumps(dict(args)),
    ]
    return start(argv, env, **kwargs)


def start_playbook(
    playbook: str,
    inventory: Path,
    extra_vars: Optional[Mapping[str, Any]] = None,
    env: Optional[Mapping[str, str]] = None,
    **kwargs: Any,
) -> Background:
    """``ansible-playbook <playbook> -i <inventory>`` in the background."""
    argv = ["ansible-playbook", playbook, "-i", str(inventory)]
    if extra_vars:
        argv += ["-e", json.dumps(dict(extra_vars))]
    return start(argv, env, **kwargs)
