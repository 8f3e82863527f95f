"""The AWX configuration-as-code playbook: surveys match the roles' argument specs, and it parses.

awx.awx cannot be installed here (Galaxy is unreachable), so the syntax check runs against stub modules
with the same names; ansible-lint uses ``mock_modules`` for the same purpose.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List, Set

import jinja2
import jinja2.meta
import pytest
import yaml
from support.ansible_runner import ansible_env

from ansible_collections.offsite.mongodb.plugins.module_utils._argument_specs import (
    MONGO_CONNECTION,
    S3_CONNECTION,
)

ROOT = Path(__file__).resolve().parents[2]
AWX = ROOT / "examples" / "awx" / "configure.yml"
BIN = Path(sys.executable).parent

# Variables the playbooks themselves read (not role options); each must really appear in playbooks or defaults.
PLAYBOOK_VARS = {"offsite_hosts", "offsite_s3_bucket", "offsite_s3_prefix", "offsite_catalog_host"}
SURVEY_TYPES = {
    "str": {"text", "textarea", "multiplechoice", "password"},
    "int": {"integer"},
    "raw": {"multiplechoice", "text"},
}


class _Loader(yaml.SafeLoader):
    """SafeLoader that reads Ansible's ``!unsafe`` and ``!vault`` tags as plain strings."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
_Loader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))


def load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=_Loader)  # noqa: S506 - SafeLoader subclass


def awx_tasks(module: str) -> List[Dict[str, Any]]:
    """The tasks of the AWX playbook that call ``awx.awx.<module>``."""
    return [task for play in load(AWX) for task in play["tasks"] if f"awx.awx.{module}" in task]


def role_options(playbook: Path) -> Dict[str, Dict[str, Any]]:
    """Every option of every role the playbook runs, from the roles' meta/argument_specs.yml."""
    options: Dict[str, Dict[str, Any]] = {}
    for play in load(playbook):
        for entry in play.get("roles", []):
            name = entry["role"] if isinstance(entry, dict) else entry
            short = name.split(".")[-1]
            spec = load(ROOT / "roles" / short / "meta" / "argument_specs.yml")
            options.update(spec["argument_specs"]["main"]["options"])
    return options


def survey_problems(template: Dict[str, Any]) -> List[str]:
    """Why a job template's survey and extra vars do not fit its playbook's roles (empty when they do)."""
    problems = []
    options = role_options(ROOT / template["playbook"])
    given: Set[str] = set(template.get("extra_vars", {}))
    for question in template.get("survey_spec", {}).get("spec", []):
        var, kind = question["variable"], question["type"]
        given.add(var)
        spec = options.get(var)
        if spec is None:
            if var not in PLAYBOOK_VARS:
                problems.append(f"{template['name']}: survey variable {var} is no role option")
            continue
        if spec["type"] == "bool":
            if kind != "multiplechoice" or set(question["choices"]) != {"true", "false"}:
                problems.append(f"{template['name']}: {var} is a bool: ask it as multiplechoice true/false")
        elif kind not in SURVEY_TYPES.get(spec["type"], set()):
            problems.append(f"{template['name']}: {var} is {spec['type']} but asked as {kind}")
        if "choices" in spec and set(question.get("choices", [])) - {str(c) for c in spec["choices"]}:
            problems.append(f"{template['name']}: {var} offers choices the role rejects")
        if "choices" in spec and question.get("default") not in {str(c) for c in spec["choices"]}:
            problems.append(f"{template['name']}: default of {var} is not a valid choice")
    for var in set(template.get("extra_vars", {})) - set(options) - PLAYBOOK_VARS:
        problems.append(f"{template['name']}: extra var {var} is no role option")
    for var, spec in options.items():
        default = str(spec.get("default", ""))
        if spec.get("required") and var not in given:
            fed_by = set(re.findall(r"offsite_\w+", _role_default(var)))
            if not fed_by & given:
                problems.append(f"{template['name']}: required {var} is neither asked nor set ({default})")
    return problems


def _role_default(var: str) -> str:
    """The value of ``var`` in its role's defaults/main.yml, as text."""
    role = var.split("_", maxsplit=1)[0]
    defaults = load(ROOT / "roles" / role / "defaults" / "main.yml") or {}
    return str(defaults.get(var, ""))


def test_every_job_template_survey_matches_the_role_argument_specs() -> None:
    templates = [task["awx.awx.job_template"] for task in awx_tasks("job_template")]
    assert templates, "the AWX playbook defines no job template"
    missing = [t["playbook"] for t in templates if not (ROOT / t["playbook"]).is_file()]
    assert missing == []
    problems = [problem for template in templates for problem in survey_problems(template)]
    assert problems == []


def test_the_check_catches_a_survey_variable_that_is_no_role_option() -> None:
    template = dict(awx_tasks("job_template")[1]["awx.awx.job_template"])
    template["survey_spec"] = {"spec": [{"variable": "restore_confirmed", "type": "text", "default": ""}]}
    assert any("restore_confirmed is no role option" in p for p in survey_problems(template))
    template["survey_spec"] = {
        "spec": [{"variable": "restore_drop", "type": "text", "default": "false"}],
    }
    assert any("restore_drop is a bool" in p for p in survey_problems(template))


def test_the_restore_survey_asks_for_confirmation_and_defaults_to_safe() -> None:
    restore = next(
        t
        for t in (x["awx.awx.job_template"] for x in awx_tasks("job_template"))
        if t["name"].endswith("Restore")
    )
    questions = {q["variable"]: q for q in restore["survey_spec"]["spec"]}
    assert questions["restore_confirm"]["default"] == "false"
    assert questions["restore_drop"]["default"] == "false"


def test_the_schedule_only_passes_variables_of_its_template() -> None:
    templates = {
        t["awx.awx.job_template"]["name"]: t["awx.awx.job_template"] for t in awx_tasks("job_template")
    }
    for task in awx_tasks("schedule"):
        schedule = task["awx.awx.schedule"]
        template = templates[schedule["unified_job_template"]]
        options = role_options(ROOT / template["playbook"])
        assert set(schedule["extra_data"]) <= set(options)


def _fallback_variables(spec: Dict[str, Dict[str, Any]]) -> Dict[str, List[str]]:
    """Option -> the environment variables its ``env_fallback`` reads, as the modules declare them."""
    return {name: list(option["fallback"][1]) for name, option in spec.items() if "fallback" in option}


def test_credential_types_inject_variables_the_modules_read() -> None:
    injected: Set[str] = set()
    for task in awx_tasks("credential_type"):
        injected |= set(task["awx.awx.credential_type"]["injectors"]["env"])
        secret_fields = [
            f["id"] for f in task["awx.awx.credential_type"]["inputs"]["fields"] if f.get("secret")
        ]
        assert secret_fields, "every credential type has a secret field"
    read = {var for names in _fallback_variables(MONGO_CONNECTION).values() for var in names}
    read |= {var for names in _fallback_variables(S3_CONNECTION).values() for var in names}
    unused = sorted(var for var in injected if var.startswith(("OFFSITE_", "AWS_")) and var not in read)
    assert unused == [], "the credential types inject variables no module option falls back to"
    for option in ("login_user", "login_password", "access_key", "secret_key"):
        names = {**_fallback_variables(MONGO_CONNECTION), **_fallback_variables(S3_CONNECTION)}[option]
        assert set(names) & injected, f"no credential type feeds {option} ({', '.join(names)})"


def _template_variables(node: Any) -> Set[str]:
    """Every variable a Jinja template in a YAML document reads (strings parsed, not searched)."""
    found: Set[str] = set()
    if isinstance(node, dict):
        for value in node.values():
            found |= _template_variables(value)
    elif isinstance(node, list):
        for value in node:
            found |= _template_variables(value)
    elif isinstance(node, str) and ("{{" in node or "{%" in node):
        found |= jinja2.meta.find_undeclared_variables(jinja2.Environment().parse(node))  # noqa: S701 - parsed, never rendered
    return found


def test_playbook_vars_are_read_by_a_template() -> None:
    read: Set[str] = set()
    for path in [*(ROOT / "playbooks").glob("*.yml"), *(ROOT / "roles").glob("*/defaults/main.yml")]:
        read |= _template_variables(load(path))
    assert sorted(PLAYBOOK_VARS - read) == []


@pytest.fixture(scope="module")
def awx_stub_collections(tmp_path_factory) -> Path:
    """A collections path with an ``awx.awx`` whose modules exist by name only (for --syntax-check)."""
    base = tmp_path_factory.mktemp("stubs")
    modules = base / "ansible_collections" / "awx" / "awx" / "plugins" / "modules"
    modules.mkdir(parents=True)
    names = {
        key.split(".")[-1]
        for play in load(AWX)
        for task in play["tasks"]
        for key in task
        if key.startswith("awx.awx.")
    }
    for name in names:
        (modules / f"{name}.py").write_text("#!/usr/bin/python\n")
    return base


def test_playbooks_pass_syntax_check(awx_stub_collections: Path) -> None:
    env = ansible_env()
    env["ANSIBLE_COLLECTIONS_PATH"] = f"{awx_stub_collections}:{env['ANSIBLE_COLLECTIONS_PATH']}"
    playbooks = [AWX, *sorted((ROOT / "playbooks").glob("*.yml"))]
    for playbook in playbooks:
        completed = subprocess.run(
            [str(BIN / "ansible-playbook"), "--syntax-check", "-i", "localhost,", str(playbook)],
            capture_output=True, text=True, env=env, check=False, timeout=120,
        )  # fmt: skip
        assert completed.returncode == 0, f"{playbook.name}: {completed.stdout}{completed.stderr}"
