"""The cluster directory: what lives where, and the files that describe a cluster.

    <dir>/spec.json        static shape: cluster id, brokers (id, rack, ports, log dirs), settings
    <dir>/cluster.json     live description: supervisor pid/port, bootstrap, brokers with pids
    <dir>/metadata.db      the controller's metadata (SQLite, WAL)
    <dir>/logs/            supervisor.log, broker-<id>.log
    <dir>/broker-<id>/disk-<k>/   a broker's log dirs ("disks")
"""

from __future__ import annotations

import json
import os
import socket
import uuid
from base64 import urlsafe_b64encode
from dataclasses import asdict, dataclass, field
from pathlib import Path

HOST = "127.0.0.1"


@dataclass
class BrokerSpec:
    node_id: int
    rack: str | None
    port: int
    log_dirs: list[str]
    sasl_port: int | None = None  # the SASL_PLAINTEXT listener's, when the cluster has one


@dataclass
class ClusterSpec:
    cluster_id: str
    supervisor_port: int
    brokers: list[BrokerSpec]
    settings: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> ClusterSpec:
        return cls(d["cluster_id"], d["supervisor_port"], [BrokerSpec(**b) for b in d["brokers"]], d.get("settings", {}))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
            return True
        except OSError:
            return False


def new_cluster_id() -> str:
    """Kafka's cluster id format: a random UUID in URL-safe base64 without padding."""
    return urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")


def spec_path(cluster_dir: Path) -> Path:
    return cluster_dir / "spec.json"


def description_path(cluster_dir: Path) -> Path:
    return cluster_dir / "cluster.json"


def new_spec(cluster_dir: Path, brokers: int, racks: list[str] | None, log_dirs: int, settings: dict,
             sasl: bool = False) -> ClusterSpec:
    specs = []
    for i in range(brokers):
        node_id = i + 1
        rack = racks[i % len(racks)] if racks else None
        dirs = [str(cluster_dir / f"broker-{node_id}" / f"disk-{k}") for k in range(log_dirs)]
        specs.append(BrokerSpec(node_id, rack, free_port(), dirs, free_port() if sasl else None))
    return ClusterSpec(new_cluster_id(), free_port(), specs, settings)


def write_json_atomically(path: Path, doc: dict) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(doc, indent=2))
    os.replace(tmp, path)


def read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
