"""Run the collection's modules the way operators do: through ``ansible`` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
BIN = Path(sys.executable).parent


def ansible_env(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="json",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    env.update(extra or {})
    return env


def run_module(
    module: str,
    args: Mapping[str, Any],
    check: bool = False,
    env: Optional[Mapping[str, str]] = None,
    timeout: float = 120,
) -> Dict[str, Any]:
    """Run ``offsite.mongodb.<module>`` on localhost; returns the module's result plus ``_stdout``."""
    argv = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", f"offsite.mongodb.{module}"]
    argv += ["-a", json.dumps(dict(args))]
    if check:
        argv.append("--check")
    completed = subprocess.run(
        argv, capture_output=True, text=True, env=ansible_env(env), timeout=timeout, check=False
    )
    try:
        report = json.loads(completed.stdout)
        result = report["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError(f"ansible gave no result:\n{completed.stdout}\n{completed.stderr}") from None
    result["_stdout"] = completed.stdout + completed.stderr
    return result
