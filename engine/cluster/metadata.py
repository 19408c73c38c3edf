"""The cluster's metadata as immutable values: what the controller owns and brokers read.

The controller replaces the whole image on every change and pushes it to the brokers;
nothing here is ever mutated in place, so a handler can hold an image for the length of
a request without locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

NO_LEADER = -1
PLAINTEXT = "PLAINTEXT"  # the listener every broker has: clients, replication and the supervisor
INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})


@dataclass(frozen=True, slots=True)
class BrokerInfo:
    node_id: int
    host: str
    port: int
    rack: str | None
    log_dirs: tuple[str, ...] = ()
    alive: bool = False
    pid: int | None = None  # the broker's process, on this machine
    # In controlled shutdown (Kafka's BrokerRegistration inControlledShutdown): still registered
    # and serving, listed in Metadata, but no longer eligible to lead or to join an ISR.
    shutting_down: bool = False
    # Listeners besides PLAINTEXT (host:port above, the inter-broker listener every broker has),
    # as (listener name, port) on the same host: ("SASL_PLAINTEXT", 40123)
    listeners: tuple[tuple[str, int], ...] = ()

    def port_of(self, listener: str) -> int | None:
        """This broker's port on `listener`, or None when it has no such listener: Metadata,
        DescribeCluster and FindCoordinator answer with the listener the request came on."""
        if listener == PLAINTEXT:
            return self.port
        for name, port in self.listeners:
            if name == listener:
                return port
        return None

    @property
    def usable(self) -> bool:
        """May lead partitions, join ISRs and get new replicas."""
        return self.alive and not self.shutting_down

    def to_json(self) -> dict:
        return {"node_id": self.node_id, "host": self.host, "port": self.port, "rack": self.rack,
                "log_dirs": list(self.log_dirs), "alive": self.alive, "pid": self.pid,
                "shutting_down": self.shutting_down, "listeners": [list(entry) for entry in self.listeners]}

    @classmethod
    def from_json(cls, d: dict) -> BrokerInfo:
        return cls(d["node_id"], d["host"], d["port"], d.get("rack"), tuple(d.get("log_dirs", ())),
                   d.get("alive", False), d.get("pid"), d.get("shutting_down", False),
                   tuple((name, port) for name, port in d.get("listeners", ())))


@dataclass(frozen=True, slots=True)
class PartitionState:
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int = 0
    partition_epoch: int = 0
    adding: tuple[int, ...] = ()
    removing: tuple[int, ...] = ()

    @property
    def reassigning(self) -> bool:
        return bool(self.adding or self.removing)

    def to_json(self) -> dict:
        return {"replicas": list(self.replicas), "isr": list(self.isr), "leader": self.leader,
                "leader_epoch": self.leader_epoch, "partition_epoch": self.partition_epoch,
                "adding": list(self.adding), "removing": list(self.removing)}

    @classmethod
    def from_json(cls, d: dict) -> PartitionState:
        return cls(tuple(d["replicas"]), tuple(d["isr"]), d["leader"], d["leader_epoch"],
                   d["partition_epoch"], tuple(d.get("adding", ())), tuple(d.get("removing", ())))


@dataclass(frozen=True, slots=True)
class TopicState:
    name: str
    topic_id: uuid.UUID
    partitions: tuple[PartitionState, ...]
    configs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def internal(self) -> bool:
        return self.name in INTERNAL_TOPICS

    def with_partition(self, index: int, state: PartitionState) -> TopicState:
        parts = list(self.partitions)
        parts[index] = state
        return replace(self, partitions=tuple(parts))

    def to_json(self) -> dict:
        return {"name": self.name, "topic_id": str(self.topic_id),
                "partitions": [p.to_json() for p in self.partitions], "configs": dict(self.configs)}

    @classmethod
    def from_json(cls, d: dict) -> TopicState:
        return cls(d["name"], uuid.UUID(d["topic_id"]), tuple(PartitionState.from_json(p) for p in d["partitions"]),
                   MappingProxyType(dict(d.get("configs", {}))))


@dataclass(frozen=True, slots=True)
class MetadataImage:
    version: int
    cluster_id: str
    controller_id: int
    brokers: Mapping[int, BrokerInfo]
    topics: Mapping[str, TopicState]
    broker_configs: Mapping[int, Mapping[str, str]] = field(default_factory=lambda: MappingProxyType({}))
    topic_ids: Mapping[uuid.UUID, str] = field(default_factory=lambda: MappingProxyType({}))
    # SCRAM credentials, (user, mechanism 1|2) -> {"salt", "stored_key", "server_key" (base64),
    # "iterations"}, as Kafka's metadata image holds them (ScramImage): what SASL listeners check
    # logins against. Replaced as a whole when they change, so an image that keeps the very same
    # mapping did not change them (delta_json sends them only then).
    scram: Mapping[tuple[str, int], Mapping] = field(default_factory=lambda: MappingProxyType({}))

    @classmethod
    def empty(cls, cluster_id: str = "") -> MetadataImage:
        return cls(0, cluster_id, NO_LEADER, MappingProxyType({}), MappingProxyType({}))

    def live_brokers(self) -> list[BrokerInfo]:
        return [b for b in self.brokers.values() if b.alive]

    def led_by(self, topic: str, node_id: int) -> dict[int, int]:
        """The partitions of `topic` that `node_id` leads, with their leader epochs."""
        t = self.topics.get(topic)
        return {i: p.leader_epoch for i, p in enumerate(t.partitions) if p.leader == node_id} if t else {}

    def partition(self, topic: str, index: int) -> PartitionState | None:
        t = self.topics.get(topic)
        if t is None or not 0 <= index < len(t.partitions):
            return None
        return t.partitions[index]

    def to_json(self) -> dict:
        return {
            "version": self.version,
            "cluster_id": self.cluster_id,
            "controller_id": self.controller_id,
            "brokers": [b.to_json() for b in self.brokers.values()],
            "topics": [t.to_json() for t in self.topics.values()],
            "broker_configs": {str(k): dict(v) for k, v in self.broker_configs.items()},
            "scram": _scram_json(self.scram),
        }

    def delta_json(self, base: MetadataImage) -> dict:
        """What a holder of `base` needs to build this image (`with_delta`): the topics that are
        not the very objects `base` holds (the controller replaces only the topics it changes),
        the names of those gone, and the small parts whole. O(changed topics) to send and apply
        rather than the whole image, which on thousands of partitions costs tens of ms per change."""
        return {
            "base": base.version,
            "version": self.version,
            "cluster_id": self.cluster_id,
            "controller_id": self.controller_id,
            "brokers": [b.to_json() for b in self.brokers.values()],
            "topics": [t.to_json() for name, t in self.topics.items() if base.topics.get(name) is not t],
            "deleted": [name for name in base.topics if name not in self.topics],
            "broker_configs": {str(k): dict(v) for k, v in self.broker_configs.items()},
            **({"scram": _scram_json(self.scram)} if self.scram is not base.scram else {}),
        }

    def with_delta(self, d: dict) -> MetadataImage:
        """The image `d` (from `delta_json`, based on this image's version) describes. Topics it
        does not name stay the same objects, so their holders can tell what did not change."""
        topics = dict(self.topics)
        for name in d["deleted"]:
            topics.pop(name, None)
        for t in d["topics"]:
            topics[t["name"]] = TopicState.from_json(t)
        same_configs = {int(k): v for k, v in d.get("broker_configs", {}).items()} == {
            k: dict(v) for k, v in self.broker_configs.items()}
        return self._assemble(d, topics, self.broker_configs if same_configs else None,
                              self.scram if "scram" not in d else None)

    @classmethod
    def from_json(cls, d: dict) -> MetadataImage:
        return cls._assemble(d, {t["name"]: TopicState.from_json(t) for t in d["topics"]})

    @classmethod
    def _assemble(cls, d: dict, topics: dict, broker_configs: Mapping | None = None,
                  scram: Mapping | None = None) -> MetadataImage:
        """An image from the small parts of `d` (whole image or delta), its topics and, when they
        are to be kept as they are, broker configs and SCRAM credentials."""
        if broker_configs is None:
            broker_configs = MappingProxyType(
                {int(k): MappingProxyType(v) for k, v in d.get("broker_configs", {}).items()})
        if scram is None:
            scram = MappingProxyType({(c["user"], c["mechanism"]): MappingProxyType(
                {k: v for k, v in c.items() if k not in ("user", "mechanism")}) for c in d.get("scram", ())})
        return cls(
            d["version"],
            d["cluster_id"],
            d["controller_id"],
            MappingProxyType({b["node_id"]: BrokerInfo.from_json(b) for b in d["brokers"]}),
            MappingProxyType(topics),
            broker_configs,
            MappingProxyType({t.topic_id: t.name for t in topics.values()}),
            scram,
        )


def _scram_json(scram: Mapping[tuple[str, int], Mapping]) -> list[dict]:
    return [{"user": user, "mechanism": mechanism, **credential} for (user, mechanism), credential in scram.items()]
