"""Run the collection's playbooks the way operators do: ``ansible-playbook offsite.mongodb.<name>``."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence

import yaml

from .ansible_runner import ansible_env

BIN = Path(sys.executable).parent


@dataclass
class PlaybookRun:
    """What one ``ansible-playbook`` run printed, with its json-callback report parsed."""

    rc: int
    stdout: str
    stderr: str
    report: Dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        """Everything the run printed (for secret checks and failure messages)."""
        return self.stdout + self.stderr

    def results(self, task_name: str, host: str = "localhost") -> List[Dict[str, Any]]:
        """Every result of the tasks called ``task_name`` on ``host``, in order."""
        found = []
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                if task["task"]["name"] == task_name and host in task["hosts"]:
                    found.append(task["hosts"][host])
        return found

    def result(self, task_name: str, host: str = "localhost") -> Dict[str, Any]:
        """The single result of ``task_name`` on ``host`` (fails the test when absent)."""
        found = self.results(task_name, host)
        assert found, f"task {task_name!r} did not run on {host}:\n{self.tail()}"
        return found[-1]

    def failures(self) -> List[str]:
        """The messages of every failed task, for assertions."""
        messages = []
        for play in self.report.get("plays", []):
            for task in play.get("tasks", []):
                for result in task["hosts"].values():
                    if result.get("failed") and not result.get("skipped"):
                        messages.append(str(result.get("msg", "")))
        return messages

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
    extra_vars: Optional[Mapping[str, Any]] = None,
    verbosity: int = 0,
    env: Optional[Mapping[str, str]] = None,
    extra_args: Sequence[str] = (),
    timeout: float = 300,
) -> PlaybookRun:
    """``ansible-playbook offsite.mongodb.<name>`` with the json callback; never raises on failure."""
    argv = [str(BIN / "ansible-playbook"), f"offsite.mongodb.{name}", "-i", str(inventory)]
    if extra_vars:
        argv += ["-e", json.dumps(dict(extra_vars))]
    if verbosity:
        argv.append("-" + "v" * verbosity)
    argv += list(extra_args)
    completed = subprocess.run(
        argv, capture_output=True, text=True, env=ansible_env(env), timeout=timeout, check=False
    )
    run = PlaybookRun(completed.returncode, completed.stdout, completed.stderr)
    start = completed.stdout.find("{")
    if start >= 0:
        try:
            run.report = json.loads(completed.stdout[start:])
        except ValueError:
            run.report = {}
    return run
