"""A broker process's settings, handed to it by the supervisor as JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class BrokerConfig:
    node_id: int
    host: str
    port: int
    rack: str | None
    log_dirs: tuple[str, ...]
    controller_host: str
    controller_port: int
    cluster_id: str
    settings: dict[str, str] = field(default_factory=dict)  # Kafka broker config names
    sasl_port: int | None = None  # a SASL_PLAINTEXT listener beside the PLAINTEXT one

    def setting(self, name: str, default: str) -> str:
        return self.settings.get(name, default)

    def to_json(self) -> str:
        d = asdict(self)
        d["log_dirs"] = list(self.log_dirs)
        return json.dumps(d)

    @classmethod
    def from_json(cls, text: str) -> BrokerConfig:
        d = json.loads(text)
        d["log_dirs"] = tuple(d["log_dirs"])
        return cls(**d)

    @classmethod
    def load(cls, path: Path) -> BrokerConfig:
        return cls.from_json(path.read_text())
