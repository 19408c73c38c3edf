"""The local engine cluster: start, stop, and break it on purpose, through the engine's launcher.

The console treats the local cluster like any other over the Kafka protocol; this service only
adds process control. The launcher is imported lazily so the console runs (against remote
clusters) even where the engine is not installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_NAME = "default"
DEFAULT_BROKERS = 3
DEFAULT_RACKS = ("a", "b", "c")


class LocalClusterUnavailable(RuntimeError):
    pass


@dataclass(frozen=True)
class BrokerProcessState:
    node_id: int
    address: str
    rack: str | None
    pid: int | None
    alive: bool
    state: str = ""


@dataclass(frozen=True)
class LocalClusterState:
    directory: str
    running: bool
    bootstrap: str | None
    brokers: tuple[BrokerProcessState, ...] = ()
    controller_id: int | None = None
    supervisor_pid: int | None = None

    def racks(self) -> dict[str, list[int]]:
        out: dict[str, list[int]] = {}
        for b in self.brokers:
            out.setdefault(b.rack or "", []).append(b.node_id)
        return out


def _launcher():
    try:
        from partita.engine.cluster import launcher
    except ImportError as e:  # engine not installed or not built yet
        raise LocalClusterUnavailable(f"the local engine is not available: {e}") from e
    return launcher


def state_from_info(directory: Path, info) -> LocalClusterState:
    if info is None:
        return LocalClusterState(str(directory), False, None)
    brokers = tuple(
        BrokerProcessState(
            b.node_id, f"{b.host}:{b.port}", b.rack, b.pid, bool(b.alive), getattr(b, "state", "") or ""
        )
        for b in sorted(info.brokers, key=lambda b: b.node_id)
    )
    return LocalClusterState(
        str(directory),
        True,
        info.bootstrap_servers,
        brokers,
        getattr(info, "controller_id", None),
        getattr(info, "supervisor_pid", None),
    )


class LocalCluster:
    """Process control for one local cluster directory. Every method blocks: call it off the GUI
    thread."""

    def __init__(self, name: str = DEFAULT_NAME, directory: Path | None = None) -> None:
        self.name = name
        self._dir = directory

    @property
    def directory(self) -> Path:
        if self._dir is None:
            self._dir = Path(_launcher().default_cluster_dir(self.name))
        return self._dir

    def up(self, brokers: int = DEFAULT_BROKERS, racks=DEFAULT_RACKS, log_dirs: int = 2) -> LocalClusterState:
        info = _launcher().up(self.directory, brokers=brokers, racks=tuple(racks), log_dirs=log_dirs)
        return state_from_info(self.directory, info)

    def status(self) -> LocalClusterState:
        return state_from_info(self.directory, _launcher().status(self.directory))

    def stop(self) -> LocalClusterState:
        _launcher().stop(self.directory)
        return self.status()

    def kill_broker(self, node_id: int) -> LocalClusterState:
        _launcher().kill_broker(self.directory, node_id)
        return self.status()

    def stop_broker(self, node_id: int) -> LocalClusterState:
        _launcher().stop_broker(self.directory, node_id)
        return self.status()

    def start_broker(self, node_id: int) -> LocalClusterState:
        _launcher().start_broker(self.directory, node_id)
        return self.status()

    def kill_rack(self, rack: str) -> LocalClusterState:
        st = self.status()
        victims = [b.node_id for b in st.brokers if b.rack == rack and b.alive]
        if not victims:
            raise ValueError(f"no running broker in rack {rack!r}")
        launcher = _launcher()
        for node in victims:
            launcher.kill_broker(self.directory, node)
        return self.status()
