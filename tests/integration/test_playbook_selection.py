"""Node selection of the backup and restore roles, across an inventory of scripted nodes of every kind."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Dict

import yaml
from support.playbook_runner import run_playbook_file

SELECT_PLAYBOOK = """
- name: Choose nodes
  hosts: all
  gather_facts: false
  module_defaults:
    group/offsite.mongodb.mongodb: "{{ offsite_mongodb_connection }}"
  tasks:
    - name: Backup selection
      ansible.builtin.include_role:
        name: offsite.mongodb.backup
        tasks_from: select
    - name: Restore selection
      ansible.builtin.include_role:
        name: offsite.mongodb.restore
        tasks_from: select
"""


def _inventory(path: Path, hosts: Dict[str, Dict[str, Any]]) -> Path:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    data = {"all": {"hosts": {name: {**local, **values} for name, values in hosts.items()}}}
    path.write_text(yaml.safe_dump(data))
    return path


def test_one_node_per_set_hidden_secondary_first_primary_only_when_allowed(tmp_path, make_fsync_fake) -> None:
    primary = make_fsync_fake(kind="primary")
    secondary = make_fsync_fake(kind="secondary")
    hidden = make_fsync_fake(kind="secondary", hidden=True)
    standalone = make_fsync_fake()
    lonely_primary = make_fsync_fake(kind="primary")
    arbiter = make_fsync_fake(kind="arbiter")
    hosts = {
        "rs0-a": {"offsite_mongodb_connection": {"uri": primary.uri}, "backup_set_name": "rs0"},
        "rs0-b": {"offsite_mongodb_connection": {"uri": secondary.uri}, "backup_set_name": "rs0"},
        "rs0-c": {"offsite_mongodb_connection": {"uri": hidden.uri}, "backup_set_name": "rs0"},
        "solo": {"offsite_mongodb_connection": {"uri": standalone.uri}},
        "rs1-a": {"offsite_mongodb_connection": {"uri": lonely_primary.uri}, "backup_set_name": "rs1"},
        "rs1-arb": {"offsite_mongodb_connection": {"uri": arbiter.uri}, "backup_set_name": "rs1"},
    }  # fmt: skip
    for values in hosts.values():
        values["restore_set_name"] = values.get("backup_set_name", "")
    playbook = tmp_path / "select.yml"
    playbook.write_text(SELECT_PLAYBOOK)
    run = run_playbook_file(playbook, _inventory(tmp_path / "hosts.yml", hosts))

    shown = [item["msg"] for item in run.result("Show the node chosen for each set")["results"]]
    assert sorted(shown) == ["rs0: rs0-c (secondary, hidden)", "solo: solo (standalone)"]
    refused = [m for m in run.failures() if m.startswith("No node can be backed up")]
    assert refused and all("rs1" in m and "backup_allow_primary" in m for m in refused)
    # An arbiter is never a candidate; the primary of rs0 was not locked or dumped.
    assert primary.lock_count == 0
    assert not primary.commands("fsync")
    assert not hidden.commands("fsync")

    # The restore target of each set is its primary (or the standalone server).
    restore_targets = run.result("Pick one target per set")["ansible_facts"]["restore_chosen"]
    assert {t["set"]: t["host"] for t in restore_targets} == {"rs0": "rs0-a", "solo": "solo"}

    allowed = run_playbook_file(playbook, tmp_path / "hosts.yml", extra_vars={"backup_allow_primary": True})
    shown = [item["msg"] for item in allowed.result("Show the node chosen for each set")["results"]]
    assert sorted(shown) == [
        "rs0: rs0-c (secondary, hidden)",
        "rs1: rs1-a (primary)",
        "solo: solo (standalone)",
    ]


def test_the_set_name_comes_from_the_server(tmp_path, make_fsync_fake) -> None:
    """Without backup_set_name/restore_set_name, members group by the set name their server reports."""
    secondary = make_fsync_fake(kind="secondary")
    primary = make_fsync_fake(kind="primary")
    hosts = {
        "m1": {"offsite_mongodb_connection": {"uri": secondary.uri}},
        "m2": {"offsite_mongodb_connection": {"uri": primary.uri}},
    }
    playbook = tmp_path / "select.yml"
    playbook.write_text(SELECT_PLAYBOOK)
    run = run_playbook_file(playbook, _inventory(tmp_path / "hosts.yml", hosts))
    shown = [item["msg"] for item in run.result("Show the node chosen for each set")["results"]]
    assert shown == ["rs0: m1 (secondary)"]
    restore_targets = run.result("Pick one target per set")["ansible_facts"]["restore_chosen"]
    assert {t["set"]: t["host"] for t in restore_targets} == {"rs0": "m2"}
