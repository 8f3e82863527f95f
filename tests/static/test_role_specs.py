"""Every role documents what it reads: argument specs, defaults and README agree, and names are prefixed."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml
from support.ansible_runner import ansible_env

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(
    path.name for path in (ROOT / "roles").iterdir() if (path / "meta" / "argument_specs.yml").exists()
)
SPEC_TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict, "raw": object}


def options(role: str) -> Dict[str, Dict[str, Any]]:
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def defaults(role: str) -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def _playbook_roles() -> List[str]:
    """The roles the collection's playbooks run (short names)."""
    names = []
    for path in (ROOT / "playbooks").glob("*.yml"):
        for play in yaml.safe_load(path.read_text()) or []:
            for entry in play.get("roles", []):
                names.append((entry["role"] if isinstance(entry, dict) else entry).split(".")[-1])
    return names


def test_every_role_a_playbook_runs_declares_an_argument_spec() -> None:
    used = _playbook_roles()
    assert used, "no playbook runs a role"
    assert sorted(set(used) - set(ROLES)) == []


def test_every_role_with_tasks_declares_an_argument_spec() -> None:
    with_tasks = sorted(path.parent.parent.name for path in (ROOT / "roles").glob("*/tasks/main.yml"))
    assert with_tasks == ROLES


@pytest.mark.parametrize("role", ROLES)
def test_defaults_and_argument_spec_name_the_same_variables(role: str) -> None:
    assert set(defaults(role)) == set(options(role))


@pytest.mark.parametrize("role", ROLES)
def test_every_option_is_prefixed_typed_described_and_its_default_fits(role: str) -> None:
    values = defaults(role)
    for name, spec in options(role).items():
        assert name.startswith(f"{role}_"), name
        assert spec.get("description"), name
        value = values[name]
        if isinstance(value, str) and "{{" in value:
            continue  # templated from a shared inventory variable
        if value is None:
            assert not spec.get("required"), name
            continue
        assert isinstance(value, SPEC_TYPES[spec["type"]]), f"{name}: {value!r} is not {spec['type']}"
        if "choices" in spec:
            assert value in spec["choices"], name
        if "default" in spec:
            assert spec["default"] == value, f"{name}: spec default {spec['default']!r} != defaults {value!r}"


@pytest.mark.parametrize("role", ROLES)
def test_readme_documents_exactly_the_role_options(role: str) -> None:
    """Every option is documented, and the README names no variable of this role that does not exist."""
    readme = (ROOT / "roles" / role / "README.md").read_text()
    documented = set(re.findall(rf"`({role}_[a-z0-9_]+)`", readme))
    assert sorted(set(options(role)) - documented) == []
    assert sorted(documented - set(options(role)) - _facts(role)) == []


def _facts(role: str) -> set:
    """The facts, registered results and task vars a role's tasks set."""
    names = set()
    for path in (ROOT / "roles" / role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            for inner in [task, *task.get("block", []), *task.get("rescue", []), *task.get("always", [])]:
                names.update(inner.get("ansible.builtin.set_fact", {}) or {})
                names.update([inner["register"]] if "register" in inner else [])
                names.update(inner.get("vars", {}) or {})
    return names


@pytest.mark.parametrize("role", ROLES)
def test_facts_and_registered_results_carry_the_role_prefix(role: str) -> None:
    names = _facts(role)
    allowed = re.compile(rf"^{role}_")
    if role == "verify":
        allowed = re.compile(rf"^{role}_|^restore_")
    if role == "python_env":  # its purpose: the interpreter of the tasks that follow
        allowed = re.compile(rf"^{role}_|^ansible_python_interpreter$")
    assert sorted(n for n in names if not allowed.match(n)) == []


EXAMPLES = sorted((ROOT / "examples" / "inventories").iterdir())


@pytest.mark.parametrize("inventory", EXAMPLES, ids=lambda path: path.name)
def test_example_inventories_parse_and_set_only_role_options(inventory: Path) -> None:
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(inventory), "--list", "--export"],
        capture_output=True, text=True, check=False, timeout=60, env=ansible_env(),
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr
    hostvars = json.loads(completed.stdout)
    assert hostvars["mongodb"].get("children") or hostvars["mongodb"].get("hosts")
    known = {name for role in ROLES for name in options(role)}
    for path in inventory.rglob("*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        names = set(data) if path.parent.name == "group_vars" else set()
        for group in _walk_hosts(data):
            names |= set(group)
        role_vars = {name for name in names if name.split("_", maxsplit=1)[0] in ROLES}
        assert role_vars <= known, f"{path}: {sorted(role_vars - known)}"


def _walk_hosts(node: Any) -> List[Dict[str, Any]]:
    """Every host's variables in a YAML inventory."""
    found: List[Dict[str, Any]] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "hosts" and isinstance(value, dict):
                found += [values for values in value.values() if isinstance(values, dict)]
            else:
                found += _walk_hosts(value)
    return found
