"""Every role documents what it reads: argument specs, defaults and README agree, and names are prefixed."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(
    path.name for path in (ROOT / "roles").iterdir() if (path / "meta" / "argument_specs.yml").exists()
)
SPEC_TYPES = {"str": str, "int": int, "bool": bool, "list": list, "dict": dict}


def options(role: str) -> Dict[str, Dict[str, Any]]:
    spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"]["main"]["options"]


def defaults(role: str) -> Dict[str, Any]:
    return yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def test_the_four_roles_exist() -> None:
    assert ROLES == ["backup", "catalog", "restore", "verify"]


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
def test_readme_documents_every_variable(role: str) -> None:
    readme = (ROOT / "roles" / role / "README.md").read_text()
    missing = [name for name in options(role) if f"`{name}`" not in readme]
    assert missing == []


@pytest.mark.parametrize("role", ROLES)
def test_facts_and_registered_results_carry_the_role_prefix(role: str) -> None:
    names = set()
    for path in (ROOT / "roles" / role / "tasks").glob("*.yml"):
        for task in yaml.safe_load(path.read_text()) or []:
            for inner in [task, *task.get("block", []), *task.get("rescue", []), *task.get("always", [])]:
                names.update(inner.get("ansible.builtin.set_fact", {}) or {})
                names.update([inner["register"]] if "register" in inner else [])
                names.update(inner.get("vars", {}) or {})
    allowed = re.compile(rf"^{role}_|^restore_") if role == "verify" else re.compile(rf"^{role}_")
    assert sorted(n for n in names if not allowed.match(n)) == []
