"""`partita-engine status` believes a broker's process over the supervisor's last description."""

from __future__ import annotations

import os
import subprocess
import sys

from partita.engine.cluster import launcher, layout


def _broker(node_id: int, pid: int | None, state: str) -> dict:
    return {"node_id": node_id, "host": "127.0.0.1", "port": 9090 + node_id, "rack": None, "pid": pid,
            "alive": state == "running", "state": state, "log_dirs": []}


def test_a_broker_whose_process_is_gone_is_not_reported_running(tmp_path):
    # A supervisor held up may not have noticed its brokers exit: its description still says running.
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                           check=True)
    gone_pid = int(ended.stdout)
    layout.write_json_atomically(layout.description_path(tmp_path), {
        "cluster_id": "c", "bootstrap_servers": "127.0.0.1:9091", "controller_id": 1, "ready": True,
        "supervisor": {"pid": os.getpid(), "port": 1},  # this process stands in for a live supervisor
        "brokers": [_broker(1, os.getpid(), "running"), _broker(2, gone_pid, "running"), _broker(3, None, "stopped")],
    })
    info = launcher.status(tmp_path)
    assert [(b.node_id, b.state, b.alive) for b in info.brokers] == [
        (1, "running", True), (2, "exited", False), (3, "stopped", False)]
    assert not info.ready
