"""Start, inspect and stop a local cluster: the API behind the CLI and the console.

`up` starts a detached supervisor process for a cluster directory (or finds the one
already running, and starts its stopped or killed brokers again) and returns once every
broker accepts requests. Everything else talks
to that supervisor over its internal channel, or reads the description it keeps in
cluster.json.
"""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import platformdirs

from partita.engine.cluster import layout
from partita.engine.cluster.processes import module_command, pid_alive
from partita.engine.cluster.rpc import RpcClient
from partita.engine.security.sasl_mechanisms import DEFAULT_ITERATIONS, SCRAM_MECHANISMS, new_credential


class LauncherError(RuntimeError):
    pass


@dataclass(frozen=True)
class BrokerProcess:
    node_id: int
    host: str
    port: int
    rack: str | None
    pid: int | None
    alive: bool
    state: str
    log_dirs: tuple[str, ...]
    sasl_port: int | None = None  # its SASL_PLAINTEXT listener, when the cluster has one


@dataclass(frozen=True)
class ClusterInfo:
    cluster_dir: Path
    cluster_id: str
    bootstrap_servers: str
    controller_id: int
    supervisor_pid: int
    supervisor_port: int
    ready: bool
    brokers: tuple[BrokerProcess, ...]
    owner_pids: tuple[int, ...] = ()  # the cluster stops when one of these processes ends
    sasl_bootstrap_servers: str | None = None  # the brokers' SASL_PLAINTEXT listeners (up(sasl_users=...))

    @classmethod
    def from_description(cls, cluster_dir: Path, d: dict) -> ClusterInfo:
        return cls(
            cluster_dir,
            d["cluster_id"],
            d["bootstrap_servers"],
            d["controller_id"],
            d["supervisor"]["pid"],
            d["supervisor"]["port"],
            d["ready"],
            tuple(
                BrokerProcess(b["node_id"], b["host"], b["port"], b["rack"], b["pid"], b["alive"], b["state"],
                              tuple(b["log_dirs"]), b.get("sasl_port"))
                for b in d["brokers"]
            ),
            tuple(d.get("owner_pids", ())),
            d.get("sasl_bootstrap_servers"),
        )

    def to_json(self) -> dict:
        return {
            "cluster_dir": str(self.cluster_dir),
            "cluster_id": self.cluster_id,
            "bootstrap_servers": self.bootstrap_servers,
            "sasl_bootstrap_servers": self.sasl_bootstrap_servers,
            "controller_id": self.controller_id,
            "supervisor_pid": self.supervisor_pid,
            "ready": self.ready,
            "owner_pids": list(self.owner_pids),
            "brokers": [
                {"node_id": b.node_id, "host": b.host, "port": b.port, "sasl_port": b.sasl_port, "rack": b.rack,
                 "pid": b.pid, "alive": b.alive, "state": b.state, "log_dirs": list(b.log_dirs)}
                for b in self.brokers
            ],
        }


def default_cluster_dir(name: str = "default") -> Path:
    return Path(platformdirs.user_data_dir("partita")) / "clusters" / name


def status(cluster_dir: Path) -> ClusterInfo | None:
    """The running cluster in `cluster_dir`, or None when its supervisor is not running."""
    d = layout.read_json(layout.description_path(cluster_dir))
    if d is None or not pid_alive(d["supervisor"]["pid"]):
        return None
    info = ClusterInfo.from_description(cluster_dir, d)
    # The description is the supervisor's last word; a supervisor held up (or hung) may not have
    # seen its brokers exit, so trust a broker's process over it.
    gone = [b for b in info.brokers if b.state in _LIVE_STATES and b.pid and not pid_alive(b.pid)]
    if not gone:
        return info
    brokers = tuple(replace(b, state="exited", alive=False) if b in gone else b for b in info.brokers)
    return replace(info, brokers=brokers, ready=False)


_LIVE_STATES = ("starting", "running", "stopping")


async def _call(port: int, op: str, timeout: float = 30.0, **args):
    client = await RpcClient.connect(layout.HOST, port)
    try:
        return await client.call(op, timeout=timeout, **args)
    finally:
        await client.close()


def _rpc(cluster_dir: Path, op: str, timeout: float = 30.0, **args):
    info = status(cluster_dir)
    if info is None:
        raise LauncherError(f"no cluster is running in {cluster_dir}")
    return asyncio.run(_call(info.supervisor_port, op, timeout=timeout, **args))


def up(
    cluster_dir: Path,
    brokers: int = 3,
    racks: tuple[str, ...] | list[str] | None = ("a", "b", "c"),
    log_dirs: int = 2,
    settings: dict[str, str] | None = None,
    timeout: float = 60.0,
    owner_pid: int | None = None,
    sasl_users: Mapping[str, str] | None = None,
) -> ClusterInfo:
    """Start the cluster in `cluster_dir` detached (creating it if new) and wait until it is ready.

    An existing directory keeps its shape (brokers, racks, ports, data); in a running
    cluster, brokers that were stopped or killed are started again. With `owner_pid`, the
    cluster stops once that process ends, however it ends (a test run killed, a terminal closed).

    With `sasl_users` ({user: password}) every broker gets a SASL_PLAINTEXT listener beside its
    PLAINTEXT one (kept in the cluster directory, as the users are: a later `up` brings both back),
    and the users are stored as SCRAM-SHA-256 and SCRAM-SHA-512 credentials (4096 iterations) in
    the controller, as `kafka-configs --alter --add-config 'SCRAM-SHA-256=[password=...]'` would.
    """
    cluster_dir = Path(cluster_dir)
    running = status(cluster_dir)
    if running is not None:
        if sasl_users and running.sasl_bootstrap_servers is None:
            raise LauncherError(f"the cluster in {cluster_dir} runs without a SASL listener: stop it, then "
                                "start it with the SASL users to add one")
        if owner_pid is not None:
            _rpc(cluster_dir, "WatchOwner", pid=owner_pid)
        for broker in running.brokers:
            if broker.state not in ("running", "starting"):
                start_broker(cluster_dir, broker.node_id)
        info = wait_ready(cluster_dir, timeout)
        if sasl_users:
            add_sasl_users(cluster_dir, sasl_users)
        return info
    cluster_dir.mkdir(parents=True, exist_ok=True)
    spec_file = layout.spec_path(cluster_dir)
    if not spec_file.exists():
        if brokers < 1:
            raise LauncherError("a cluster needs at least one broker")
        defaults = {
            "offsets.topic.replication.factor": str(min(3, brokers)),
            "default.replication.factor": "1",
        }
        spec = layout.new_spec(cluster_dir, brokers, list(racks) if racks else None, log_dirs,
                               {**defaults, **(settings or {})}, sasl=bool(sasl_users))
        layout.write_json_atomically(spec_file, spec.to_json())
    elif settings or sasl_users:
        spec = layout.ClusterSpec.from_json(layout.read_json(spec_file))
        spec.settings.update(settings or {})
        if sasl_users:  # an existing cluster gains SASL listeners
            for broker in spec.brokers:
                if broker.sasl_port is None:
                    broker.sasl_port = layout.free_port()
        layout.write_json_atomically(spec_file, spec.to_json())
    spec = layout.ClusterSpec.from_json(layout.read_json(spec_file))
    if not layout.port_is_free(spec.supervisor_port):
        spec.supervisor_port = layout.free_port()
        layout.write_json_atomically(spec_file, spec.to_json())
    logs = cluster_dir / "logs"
    logs.mkdir(exist_ok=True)
    layout.description_path(cluster_dir).unlink(missing_ok=True)
    with open(logs / "supervisor.log", "ab") as out:
        process = subprocess.Popen(
            [*module_command("partita.engine.cluster.supervisor"), str(cluster_dir),
             *([str(owner_pid)] if owner_pid is not None else [])],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )
    deadline = time.monotonic() + timeout
    while status(cluster_dir) is None:
        if process.poll() is not None:
            raise LauncherError(f"the supervisor exited with code {process.returncode}; see {logs / 'supervisor.log'}")
        if time.monotonic() > deadline:
            process.kill()
            raise LauncherError(f"the cluster did not start within {timeout:.0f} s; see {logs}")
        time.sleep(0.02)
    info = wait_ready(cluster_dir, max(1.0, deadline - time.monotonic()))
    if sasl_users:
        add_sasl_users(cluster_dir, sasl_users)
    return info


def add_sasl_users(cluster_dir: Path, users: Mapping[str, str], iterations: int = DEFAULT_ITERATIONS) -> None:
    """Store each user's password as SCRAM-SHA-256 and SCRAM-SHA-512 credentials (which PLAIN logins
    are checked against too), through the controller as AlterUserScramCredentials does."""
    upsertions = []
    for user, password in users.items():
        for mechanism, (mechanism_id, _digest) in SCRAM_MECHANISMS.items():
            salt, salted = new_credential(mechanism, password, iterations)
            upsertions.append({"name": user, "mechanism": mechanism_id, "iterations": iterations,
                               "salt": base64.b64encode(salt).decode(),
                               "salted_password": base64.b64encode(salted).decode()})
    # one request per mechanism: Kafka refuses two alterations of one user in a request
    for mechanism_id in (1, 2):
        batch = [u for u in upsertions if u["mechanism"] == mechanism_id]
        results = _rpc(cluster_dir, "AlterUserScramCredentials", deletions=[], upsertions=batch)
        failed = [f"{r['user']}: {r['error_message'] or r['error_code']}" for r in results if r["error_code"]]
        if failed:
            raise LauncherError("could not store SASL users: " + "; ".join(failed))


def parse_sasl_users(text: str) -> dict[str, str]:
    """`alice:secret,bob:pw2` -> {"alice": "secret", "bob": "pw2"} (a password may hold ':', not ',')."""
    users = {}
    for entry in text.split(","):
        if not entry.strip():
            continue
        user, sep, password = entry.partition(":")
        if not sep or not user.strip() or not password:
            raise LauncherError(f"a SASL user is USER:PASSWORD, got {entry!r}")
        users[user.strip()] = password
    return users


def wait_ready(cluster_dir: Path, timeout: float = 60.0) -> ClusterInfo:
    try:
        d = _rpc(cluster_dir, "WaitReady", timeout=timeout, timeout_s=timeout)
    except TimeoutError as exc:
        raise LauncherError(f"the cluster in {cluster_dir} did not become ready within {timeout:.0f} s") from exc
    return ClusterInfo.from_description(Path(cluster_dir), d)


def stop(cluster_dir: Path, timeout: float = 30.0) -> bool:
    """Stop the cluster gracefully; False when none was running."""
    info = status(cluster_dir)
    if info is None:
        return False
    try:
        _rpc(cluster_dir, "Shutdown")
    except (ConnectionError, OSError):
        pass
    deadline = time.monotonic() + timeout
    while pid_alive(info.supervisor_pid):
        if time.monotonic() > deadline:
            os.kill(info.supervisor_pid, 9)
            for b in info.brokers:
                if b.pid:
                    try:
                        os.kill(b.pid, 9)
                    except ProcessLookupError:
                        pass
            break
        time.sleep(0.05)
    return True


def kill_broker(cluster_dir: Path, node_id: int) -> None:
    _check_broker(cluster_dir, node_id)
    _rpc(cluster_dir, "KillBroker", node_id=node_id)


def stop_broker(cluster_dir: Path, node_id: int) -> None:
    _check_broker(cluster_dir, node_id)
    _rpc(cluster_dir, "StopBroker", node_id=node_id)


def start_broker(cluster_dir: Path, node_id: int) -> None:
    _check_broker(cluster_dir, node_id)
    _rpc(cluster_dir, "StartBroker", node_id=node_id)


def inject_fault(cluster_dir: Path, node_id: int, api_key: int = -1, *, delay_ms: int = 0,
                 disconnect: bool = False, count: int = 1, clear: bool = False) -> None:
    """Make broker `node_id` delay, or drop the connection of, its next `count` requests of
    `api_key` (Kafka's API key: 0 Produce, 1 Fetch, 3 Metadata …); `clear` removes all."""
    _check_broker(cluster_dir, node_id)
    _rpc(cluster_dir, "InjectFault", node_id=node_id, api_key=api_key, delay_ms=delay_ms,
         disconnect=disconnect, count=count, clear=clear)


def _check_broker(cluster_dir: Path, node_id: int) -> None:
    info = status(cluster_dir)
    if info is None:
        raise LauncherError(f"no cluster is running in {cluster_dir}")
    if node_id not in {b.node_id for b in info.brokers}:
        known = ", ".join(str(b.node_id) for b in info.brokers)
        raise LauncherError(f"broker {node_id} is not part of this cluster (brokers: {known})")
