"""Run the collection's modules the way operators do: through ``ansible`` in a subprocess.

A test-only callback (``callback_plugins/offsite_test_results.py``) writes each result as JSON.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

ROOT = Path(__file__).resolve().parents[2]
COLLECTIONS = ROOT / ".cache" / "collections"
BIN = Path(sys.executable).parent
CALLBACKS = Path(__file__).resolve().parent / "callback_plugins"


def ansible_env(extra: Optional[Mapping[str, str]] = None) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_CALLBACK_PLUGINS=str(CALLBACKS),
        ANSIBLE_CALLBACKS_ENABLED="offsite_test_results",
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_DEPRECATION_WARNINGS="0",
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
    with tempfile.TemporaryDirectory(prefix="offsite-ansible-") as scratch:
        results = Path(scratch) / "results.jsonl"
        argv = [str(BIN / "ansible"), "localhost", "-c", "local", "-m", f"offsite.mongodb.{module}"]
        argv += ["-a", json.dumps(dict(args))]
        if check:
            argv.append("--check")
        environment = ansible_env({**(env or {}), "OFFSITE_TEST_RESULTS": str(results)})
        completed = subprocess.run(
            argv, capture_output=True, text=True, env=environment, timeout=timeout, check=False
        )
        try:
            result = json.loads(results.read_text().splitlines()[-1])
        except (OSError, ValueError, IndexError):
            raise AssertionError(f"ansible gave no result:\n{completed.stdout}\n{completed.stderr}") from None
    result["_stdout"] = completed.stdout + completed.stderr
    return result
