"""module_command: how the engine and the console start their Python child processes, from a
venv (python -m) and from the frozen desktop bundle (packaging/entry.py's runner flag). That
the console's builder starts this way is tested end to end in tests/gui/test_bridge.py."""

from __future__ import annotations

import sys

from partita.engine.cluster import processes
from partita.engine.cluster.processes import FROZEN_RUN_MODULE, module_command


def test_a_python_runs_the_module_with_dash_m(monkeypatch):
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert module_command("partita.engine.broker") == [sys.executable, "-m", "partita.engine.broker"]


def test_a_frozen_bundle_runs_it_through_its_entry_script(monkeypatch):
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "executable", "/opt/partita/partita")
    assert processes.module_command("partita.engine.cluster.supervisor") == [
        "/opt/partita/partita", FROZEN_RUN_MODULE, "partita.engine.cluster.supervisor"]

