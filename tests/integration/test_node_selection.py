"""The backup role's node selection against a running replica set: one inventory host per member (primary,
secondary, hidden secondary, arbiter), members stopped and started for real."""

from __future__ import annotations

from pathlib import Path

import pytest
from support.member_inventory import write_member_inventory
from support.playbook_runner import run_playbook_file

SELECT_PLAYBOOK = """
- name: Choose the node to back up
  hosts: all
  gather_facts: false
  module_defaults:
    group/offsite.mongodb.mongodb: "{{ offsite_mongodb_connection }}"
  tasks:
    - name: Backup selection
      ansible.builtin.include_role:
        name: offsite.mongodb.backup
        tasks_from: select
"""


@pytest.fixture
def select(tmp_path):
    playbook = tmp_path / "select.yml"
    playbook.write_text(SELECT_PLAYBOOK)

    def run(inventory: Path, **extra_vars):
        return run_playbook_file(playbook, inventory, extra_vars=extra_vars or None)

    return run


def chosen(run) -> list:
    return [item["msg"] for item in run.result("Show the node chosen for each set")["results"]]


def kinds(run) -> dict:
    seen = run.result("Rank the candidates of each set")["ansible_facts"]["backup_candidates_seen"]
    return {candidate["host"]: candidate["kind"] for candidate in seen}


def test_hidden_then_secondary_then_primary_only_when_allowed(replica_set, tmp_path, select):
    inventory = write_member_inventory(tmp_path / "hosts.yml", replica_set)
    every = select(inventory)
    assert every.rc == 0, every.tail()
    assert chosen(every) == ["rs0: rs-hidden (secondary, hidden)"]
    assert kinds(every) == {
        "rs-primary": "primary",
        "rs-secondary": "secondary",
        "rs-hidden": "secondary",
        "rs-arbiter": "arbiter",
    }

    replica_set.stop_member("hidden")
    try:
        without_hidden = select(inventory)
        assert without_hidden.rc == 0, without_hidden.tail()
        assert chosen(without_hidden) == ["rs0: rs-secondary (secondary)"]
        assert kinds(without_hidden)["rs-hidden"] == "unreachable"

        replica_set.stop_member("secondary")
        try:
            refused = select(inventory)
            assert refused.rc != 0
            messages = [m for m in refused.failures() if m.startswith("No node can be backed up in rs0")]
            assert messages, refused.tail()
            message = messages[0]
            assert "\n" not in message
            assert "rs-hidden=unreachable" in message and "rs-secondary=unreachable" in message
            assert "rs-primary=primary" in message
            assert "reach the node (check the MongoDB connection options" in message

            allowed = select(inventory, backup_allow_primary=True)
            assert allowed.rc == 0, allowed.tail()
            assert chosen(allowed) == ["rs0: rs-primary (primary)"]
        finally:
            replica_set.start_member("secondary")
    finally:
        replica_set.start_member("hidden")
    with replica_set.client("secondary") as client:
        assert not client.admin.command("currentOp").get("fsyncLock"), "selection never locks"
