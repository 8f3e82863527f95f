"""Every module's documentation renders with ansible-doc, with examples and return values."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from support.ansible_runner import BIN, ansible_env

MODULES = sorted(
    path.stem for path in (Path(__file__).resolve().parents[2] / "plugins" / "modules").glob("*.py")
)


@pytest.mark.parametrize("module", MODULES)
def test_ansible_doc_renders_complete_documentation(module):
    name = f"offsite.mongodb.{module}"
    completed = subprocess.run(
        [str(BIN / "ansible-doc"), "--json", name],
        capture_output=True,
        text=True,
        env=ansible_env(),
        check=True,
    )
    doc = json.loads(completed.stdout)[name]
    assert doc["doc"]["short_description"]
    assert doc["doc"]["options"], "a module without options?"
    assert "connect_timeout" in doc["doc"]["options"] or module.startswith("s3_")
    assert f"offsite.mongodb.{module}" in doc["examples"], "examples must use the FQCN"
    assert doc["return"], "return values must be documented"
    text = subprocess.run(
        [str(BIN / "ansible-doc"), name], capture_output=True, text=True, env=ansible_env(), check=True
    ).stdout
    assert "EXAMPLES" in text
    assert "RETURN VALUES" in text
