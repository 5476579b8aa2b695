"""The ``villagestudy`` entry point: main's exit code, and the interpreter's final collections spared."""
from __future__ import annotations

import subprocess
import sys

import pytest

import villagestudy.cli as cli


def test_the_command_exits_with_main_s_code_after_freezing_the_collector(monkeypatch):
    calls = []
    monkeypatch.setattr(cli, "main", lambda argv=None: calls.append("main") or 3)
    monkeypatch.setattr(cli.gc, "freeze", lambda: calls.append("freeze"))
    with pytest.raises(SystemExit) as stop:
        cli.run()
    assert stop.value.code == 3 and calls == ["main", "freeze"]


def test_python_m_villagestudy_is_the_command():
    bad = subprocess.run([sys.executable, "-m", "villagestudy", "reports", "--lang", "fr"],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "invalid choice: 'fr'" in bad.stderr and "Traceback" not in bad.stderr
    shown = subprocess.run([sys.executable, "-m", "villagestudy", "--version"], capture_output=True, text=True)
    assert shown.returncode == 0 and shown.stdout.startswith("villagestudy ")
