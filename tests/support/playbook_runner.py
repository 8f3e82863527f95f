"""Run the collection's playbooks the way operators do: ``ansible-playbook offsite.mongodb.<name>``.

Results come from the test callback (``callback_plugins/offsite_test_results.py``) as JSON lines; the
default stdout callback stays on so that secret checks see exactly what an operator would see.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from .ansible_runner import ansible_env

BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    """What one ``ansible-playbook`` run printed, and every task result it produced."""

    rc: int
    stdout: str
    stderr: str
    records: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def output(self) -> str:
        """Everything the run printed (for secret checks and failure messages)."""
        return self.stdout + self.stderr

    def results(self, task_name: str) -> List[Dict[str, Any]]:
        """Every result of tasks whose name ends with ``task_name`` (role tasks carry a role prefix)."""
        return [record for record in self.records if record.get("_task", "").endswith(task_name)]

    def result(self, task_name: str) -> Dict[str, Any]:
        """The last result of ``task_name`` (fails the test when the task never ran)."""
        found = self.results(task_name)
        assert found, f"task {task_name!r} did not run:\n{self.tail()}"
        return found[-1]

    def ran(self, task_name: str) -> bool:
        """Whether ``task_name`` ran (not skipped)."""
        return any(record["_outcome"] != "skipped" for record in self.results(task_name))

    def failures(self) -> List[str]:
        """The messages of every failed task."""
        return [str(record.get("msg", "")) for record in self.records if record["_outcome"] == "failed"]

    def tail(self, chars: int = 6000) -> str:
        return self.output[-chars:]


def write_inventory(path: Path, host_vars: Mapping[str, Any], group: str = "mongodb") -> Path:
    """A one-host inventory: localhost in ``group``, local connection, this interpreter."""
    hostvars = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, **host_vars}
    inventory = {"all": {"children": {group: {"hosts": {"localhost": hostvars}}}}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False))
    return path


def run_playbook(
    name: str,
    inventory: Path,
    **kwargs: Any,
) -> PlaybookRun:
    """``ansible-playbook offsite.mongodb.<name>``; never raises on a failed play."""
    return run_playbook_file(f"offsite.mongodb.{name}", inventory, **kwargs)


def run_playbook_file(
    playbook: Any,
    inventory: Path,
    *,
    extra_vars: Optional[Mapping[str, Any]] = None,
    verbosity: int = 0,
    env: Optional[Mapping[str, str]] = None,
    extra_args: Sequence[str] = (),
    timeout: float = 300,
) -> PlaybookRun:
    """``ansible-playbook <playbook>`` (a path or a collection playbook name); never raises on failure."""
    with tempfile.TemporaryDirectory(prefix="offsite-playbook-") as scratch:
        results = Path(scratch) / "results.jsonl"
        argv = [str(BIN / "ansible-playbook"), str(playbook), "-i", str(inventory)]
        if extra_vars:
            argv += ["-e", json.dumps(dict(extra_vars))]
        if verbosity:
            argv.append("-" + "v" * verbosity)
        argv += list(extra_args)
        environment = ansible_env({**(env or {}), "OFFSITE_TEST_RESULTS": str(results)})
        completed = subprocess.run(
            argv, capture_output=True, text=True, env=environment, timeout=timeout, check=False
        )
        records = []
        if results.exists():
            records = [json.loads(line) for line in results.read_text().splitlines() if line.strip()]
    return PlaybookRun(completed.returncode, completed.stdout, completed.stderr, records)
