"""`partita-engine` as a new user runs it: up, status, kill and restart brokers, stop — seen with kcat -L."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENGINE = str(Path(sys.executable).with_name("partita-engine"))


def run(*args, check=True, timeout=60):
    return subprocess.run([ENGINE, *args], capture_output=True, text=True, timeout=timeout, check=check)


def kcat_brokers(bootstrap: str) -> str:
    return subprocess.run(["kcat", "-b", bootstrap, "-L"], capture_output=True, text=True, timeout=30,
                          check=True).stdout


@pytest.fixture
def cluster_dir(tmp_path):
    d = tmp_path / "cli-cluster"
    yield d
    subprocess.run([ENGINE, "stop", "--dir", str(d)], capture_output=True, timeout=60)


def test_cli_lifecycle_with_kcat(cluster_dir):
    assert shutil.which("kcat"), "kcat is not installed"
    up = run("up", "--brokers", "3", "--racks", "a,b,c", "--log-dirs", "2", "--dir", str(cluster_dir), "--detach")
    match = re.fullmatch(r"bootstrap\.servers=(\S+)\n", up.stdout)
    assert match, up.stdout
    bootstrap = match.group(1)
    assert bootstrap.count("127.0.0.1:") == 3
    status = json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)
    assert [(b["node_id"], b["rack"], b["alive"]) for b in status["brokers"]] == [
        (1, "a", True), (2, "b", True), (3, "c", True)]
    assert all(len(b["log_dirs"]) == 2 and b["pid"] for b in status["brokers"])
    assert " 3 brokers:" in kcat_brokers(bootstrap)

    run("kill-broker", "2", "--dir", str(cluster_dir))
    deadline = time.monotonic() + 10
    while " 2 brokers:" not in kcat_brokers(bootstrap.split(",")[0]):
        assert time.monotonic() < deadline, "killed broker still listed"
        time.sleep(0.1)
    status = json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)
    assert status["brokers"][1]["state"] == "killed" and status["brokers"][1]["pid"] is None

    run("start-broker", "2", "--dir", str(cluster_dir))
    deadline = time.monotonic() + 20
    while " 3 brokers:" not in kcat_brokers(bootstrap.split(",")[0]):
        assert time.monotonic() < deadline, "restarted broker not listed"
        time.sleep(0.1)

    run("stop-broker", "3", "--dir", str(cluster_dir))
    status = json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)
    assert status["brokers"][2]["state"] == "stopped"
    assert status["ready"] is False  # not every broker runs
    human = run("status", "--dir", str(cluster_dir)).stdout
    assert "stopped" in human and "controller" in human

    run("kill-broker", "1", "--dir", str(cluster_dir))
    deadline = time.monotonic() + 10
    while json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)["brokers"][0]["state"] != "killed":
        assert time.monotonic() < deadline, "killed broker not reported"
        time.sleep(0.1)
    assert run("up", "--dir", str(cluster_dir), "--detach").stdout == up.stdout  # starts the stopped and the killed
    status = json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)
    assert status["ready"] is True and [b["state"] for b in status["brokers"]] == ["running"] * 3
    assert " 3 brokers:" in kcat_brokers(bootstrap.split(",")[1])

    assert run("stop", "--dir", str(cluster_dir)).stdout.strip() == "stopped"
    assert run("status", "--dir", str(cluster_dir), check=False).returncode == 1


def test_cli_reports_clear_errors(cluster_dir):
    missing = run("kill-broker", "1", "--dir", str(cluster_dir), check=False)
    assert missing.returncode == 2 and "no cluster is running" in missing.stderr
    run("up", "--dir", str(cluster_dir), "--detach")
    unknown = run("kill-broker", "9", "--dir", str(cluster_dir), check=False)
    assert unknown.returncode == 2 and "broker 9 is not part of this cluster" in unknown.stderr


def test_up_on_existing_directory_restarts_the_same_cluster(cluster_dir):
    first = json.loads(run("up", "--dir", str(cluster_dir), "--detach") and
                       run("status", "--json", "--dir", str(cluster_dir)).stdout)
    run("stop", "--dir", str(cluster_dir))
    run("up", "--dir", str(cluster_dir), "--detach")
    second = json.loads(run("status", "--json", "--dir", str(cluster_dir)).stdout)
    assert second["cluster_id"] == first["cluster_id"]


def test_automatic_topic_creation_can_be_switched_off(tmp_path):
    from confluent_kafka.admin import AdminClient

    d = tmp_path / "noauto"
    try:
        up = run("up", "--dir", str(d), "--detach", "--set", "auto.create.topics.enable=false")
        bootstrap = up.stdout.strip().split("=", 1)[1]
        from confluent_kafka import Producer

        # A producer asks Metadata to create the topic (allow_auto_topic_creation=true)...
        producer = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 2000})
        errors = []
        producer.produce("not-created", b"x", on_delivery=lambda err, msg: errors.append(err))
        producer.flush(10)
        assert errors and errors[0] is not None
        # ...and the broker declined: the topic does not exist.
        assert "not-created" not in AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics
    finally:
        run("stop", "--dir", str(d), check=False)


def test_fault_hooks_drop_and_then_recover(cluster_dir):
    """Failure rehearsal: the next two Metadata requests to broker 1 lose their connection."""
    from kio.schema.metadata.v12.request import MetadataRequest

    from tests.engine.helpers import raw_request

    bootstrap = run("up", "--dir", str(cluster_dir), "--detach").stdout.strip().split("=", 1)[1]
    run("fault", "1", "--api", "3", "--disconnect", "--count", "2", "--dir", str(cluster_dir))
    request = MetadataRequest(topics=None, allow_auto_topic_creation=False,
                              include_topic_authorized_operations=False)
    for _ in range(2):
        with pytest.raises((ConnectionError, OSError, EOFError)):
            raw_request(bootstrap, 3, 12, request)
    assert [b.node_id for b in raw_request(bootstrap, 3, 12, request).brokers] == [1]
    run("fault", "1", "--api", "3", "--delay-ms", "50", "--count", "1", "--dir", str(cluster_dir))
    assert raw_request(bootstrap, 3, 12, request).brokers
    assert run("fault", "1", "--clear", "--dir", str(cluster_dir)).returncode == 0
    missing = run("fault", "1", "--delay-ms", "5", "--dir", str(cluster_dir), check=False)
    assert missing.returncode != 0 and "--api" in missing.stderr


def test_a_cluster_whose_directory_is_deleted_stops(tmp_path):
    # What a test runner does to the temp dirs of a run that was killed before its teardown:
    # the cluster must not live on, unreachable by `stop`.
    import os
    import signal

    from partita.engine.cluster.processes import pid_alive

    d = tmp_path / "doomed"
    run("up", "--brokers", "2", "--dir", str(d), "--detach")
    info = json.loads(run("status", "--dir", str(d), "--json").stdout)
    pids = [info["supervisor_pid"], *(b["pid"] for b in info["brokers"])]
    try:
        shutil.rmtree(d)
        deadline = time.monotonic() + 20
        while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if pid_alive(p)], "processes left running after their directory went"
    finally:
        for p in pids:
            if pid_alive(p):
                os.kill(p, signal.SIGKILL)


def test_brokers_raise_their_open_files_limit_to_the_hard_one(cluster_dir):
    """Started from a desktop session (a soft limit of 1,024 files), a broker would run out of
    files with a few hundred partitions; it raises its soft limit to the hard one, as the JVM does."""
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, soft)
    subprocess.run([ENGINE, "up", "--brokers", "1", "--dir", str(cluster_dir), "--detach"], capture_output=True,
                   text=True, timeout=60, check=True,
                   preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard)))
    broker_pid = json.loads(run("status", "--dir", str(cluster_dir), "--json").stdout)["brokers"][0]["pid"]
    limits = Path(f"/proc/{broker_pid}/limits").read_text()
    [line] = [line for line in limits.splitlines() if line.startswith("Max open files")]
    assert line.split()[3] == str(hard if hard != resource.RLIM_INFINITY else 1 << 20), line  # the soft limit


def _cluster_pids(cluster_dir) -> list[int]:
    info = json.loads(run("status", "--dir", str(cluster_dir), "--json").stdout)
    return [info["supervisor_pid"], *(b["pid"] for b in info["brokers"] if b["pid"])]


def _wait_all_gone(pids: list[int], timeout: float = 20.0) -> list[int]:
    from partita.engine.cluster.processes import pid_alive

    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


@pytest.fixture
def foreground_up():
    started: list[subprocess.Popen] = []

    def start(cluster_dir, *args) -> subprocess.Popen:
        up = subprocess.Popen([ENGINE, "up", "--dir", str(cluster_dir), *args], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
        started.append(up)
        line = up.stdout.readline()
        assert line.startswith("bootstrap.servers="), line
        return up

    yield start
    for up in started:
        if up.poll() is None:
            up.kill()
            up.wait(10)
        up.stdout.close()


@pytest.mark.parametrize("how", ["SIGKILL", "SIGHUP"])
def test_a_foreground_cluster_stops_when_its_up_command_dies(cluster_dir, foreground_up, how):
    # Ctrl-C stops it; so must a closed terminal (SIGHUP, which `up` does not catch) or a kill:
    # before, either left the whole cluster running unseen, holding its ports.
    import os
    import signal

    up = foreground_up(cluster_dir, "--brokers", "2")
    pids = _cluster_pids(cluster_dir)
    assert json.loads(run("status", "--dir", str(cluster_dir), "--json").stdout)["owner_pids"] == [up.pid]
    os.kill(up.pid, getattr(signal, how))
    up.wait(10)
    assert _wait_all_gone(pids) == [], "the cluster outlived the command that owned it"
    assert "owner process" in (cluster_dir / "logs" / "supervisor.log").read_text()
    assert run("status", "--dir", str(cluster_dir), check=False).returncode == 1


def test_a_foreground_up_on_a_detached_cluster_owns_it_from_then_on(cluster_dir, foreground_up):
    import os
    import signal

    run("up", "--dir", str(cluster_dir), "--detach")
    pids = _cluster_pids(cluster_dir)
    assert json.loads(run("status", "--dir", str(cluster_dir), "--json").stdout)["owner_pids"] == []
    up = foreground_up(cluster_dir)
    assert _cluster_pids(cluster_dir) == pids  # the same cluster, not a second one
    os.kill(up.pid, signal.SIGKILL)
    up.wait(10)
    assert _wait_all_gone(pids) == []
