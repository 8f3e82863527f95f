"""``make demo`` writes plain text, without colour codes, when its output is not a terminal."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import demo.__main__ as demo
from demo import plan

ESC = "\033"


@pytest.fixture(autouse=True)
def no_colour_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "ANSIBLE_NOCOLOR", "ANSIBLE_FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def test_banners_and_ansible_are_plain_when_stdout_is_not_a_terminal(capsys: pytest.CaptureFixture) -> None:
    demo.banner("Loading sample data")
    env = demo.playbook_env()

    assert capsys.readouterr().out == "\n==> Loading sample data\n"
    assert env["ANSIBLE_NOCOLOR"] == "1"
    assert env["ANSIBLE_FORCE_COLOR"] == "0"


def test_a_terminal_gets_bold_banners_and_coloured_ansible(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    demo.banner("Loading sample data")

    assert capsys.readouterr().out == f"\n{ESC}[1m==> Loading sample data{ESC}[0m\n"
    assert demo.playbook_env()["ANSIBLE_FORCE_COLOR"] == "1"


def test_no_color_wins_over_a_terminal_and_force_color_over_a_pipe(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    monkeypatch.setenv("NO_COLOR", "1")
    assert demo.playbook_env()["ANSIBLE_NOCOLOR"] == "1"

    monkeypatch.setattr(sys.stdout, "isatty", lambda: False)
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setenv("ANSIBLE_FORCE_COLOR", "true")
    assert demo.playbook_env()["ANSIBLE_FORCE_COLOR"] == "1"


def test_the_plan_says_what_runs_and_how_long_it_takes(capsys: pytest.CaptureFixture) -> None:
    plan.main()
    out = capsys.readouterr().out
    assert ESC not in out
    assert "setup" in out
    assert "offsite.mongodb.backup" in out
    assert "from a fresh clone" in out
    assert "once set up" in out
