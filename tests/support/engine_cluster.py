"""Partita's engine as a test fixture, with the same surface as tests/support/apache_kafka.KafkaCluster.

Scenario tests take either and demand the same answers. The cluster runs as real
processes started by the launcher; close() stops it and then kills, by PID, anything
left over; should the test process die first, the cluster stops by itself.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from confluent_kafka.admin import AdminClient

from partita.engine.cluster import launcher


class EngineCluster:
    kind = "engine"

    def __init__(self, workdir: Path, brokers: int = 1, racks=None, log_dirs: int = 1, settings=None,
                 sasl_users: dict[str, str] | None = None):
        self.dir = Path(workdir)
        self.sasl_users = dict(sasl_users or {})
        # owned by this process: a test run that dies (a client library's segfault) takes it along
        self.info = launcher.up(self.dir, brokers=brokers, racks=racks, log_dirs=log_dirs,
                                settings=settings or {}, timeout=60, owner_pid=os.getpid(),
                                sasl_users=self.sasl_users or None)

    def refresh(self) -> launcher.ClusterInfo:
        info = launcher.status(self.dir)
        if info is not None:
            self.info = info
        return self.info

    @property
    def bootstrap(self) -> str:
        return self.refresh().bootstrap_servers

    @property
    def broker_ids(self) -> list[int]:
        return [b.node_id for b in self.info.brokers]

    def broker(self, node_id: int) -> launcher.BrokerProcess:
        return next(b for b in self.refresh().brokers if b.node_id == node_id)

    def pid(self, node_id: int) -> int | None:
        return self.broker(node_id).pid

    def rack(self, node_id: int) -> str | None:
        return self.broker(node_id).rack

    def address(self, node_id: int) -> str:
        b = self.broker(node_id)
        return f"{b.host}:{b.port}"

    def log_dirs_of(self, node_id: int) -> list[Path]:
        return [Path(d) for d in self.broker(node_id).log_dirs]

    def client_config(self, **extra) -> dict:
        return {"bootstrap.servers": self.bootstrap, **extra}

    # -- the SASL_PLAINTEXT listener (sasl_users={user: password}), as KafkaCluster has it -------

    @property
    def sasl_bootstrap(self) -> str:
        bootstrap = self.refresh().sasl_bootstrap_servers
        if bootstrap is None:
            raise RuntimeError("this EngineCluster has no SASL listener: pass sasl_users={user: password}")
        return bootstrap

    def sasl_address(self, node_id: int) -> str:
        b = self.broker(node_id)
        if b.sasl_port is None:
            raise RuntimeError("this EngineCluster has no SASL listener: pass sasl_users={user: password}")
        return f"{b.host}:{b.sasl_port}"

    def sasl_client_config(self, user: str, mechanism: str = "PLAIN", password: str | None = None,
                           **extra) -> dict:
        """A confluent-kafka config for the SASL listener, as ``user`` with its password (or ``password``)."""
        return {
            "bootstrap.servers": self.sasl_bootstrap,
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": mechanism,
            "sasl.username": user,
            "sasl.password": self.sasl_users[user] if password is None else password,
            **extra,
        }

    def kill(self, node_id: int) -> None:
        launcher.kill_broker(self.dir, node_id)
        self._wait(lambda: not self.broker(node_id).alive, f"broker {node_id} to be fenced")

    def stop(self, node_id: int) -> None:
        launcher.stop_broker(self.dir, node_id)

    def start(self, node_id: int, wait: bool = True) -> None:
        launcher.start_broker(self.dir, node_id)
        if wait:
            self._wait(lambda: self.broker(node_id).alive, f"broker {node_id} to register")

    def wait_ready(self, timeout: float = 30.0) -> None:
        admin = AdminClient({"bootstrap.servers": self.bootstrap})
        expected = sum(1 for b in self.refresh().brokers if b.state in ("running", "starting"))
        self._wait(lambda: len(admin.list_topics(timeout=5).brokers) >= expected, "brokers in metadata", timeout)

    def _wait(self, condition, what: str, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def close(self) -> None:
        info = launcher.status(self.dir)
        launcher.stop(self.dir)
        if info is not None:
            for pid in [info.supervisor_pid, *(b.pid for b in info.brokers if b.pid)]:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def __enter__(self) -> EngineCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
