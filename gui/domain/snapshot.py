"""Immutable pictures of a cluster, taken by the poller and shown by the views.

A snapshot is never edited: the poller builds a new one on every refresh and the
views swap it in whole. Derived facts (health, lag, leader counts) are functions in
the sibling modules; the few lookups they all need are cached on the snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

NO_LEADER = -1


@dataclass(frozen=True, slots=True)
class LogDir:
    path: str
    size_bytes: int
    error: str | None = None
    # replicas being moved into this dir from another dir of the same broker
    # (AlterReplicaLogDirs): (topic, partition, bytes copied so far)
    moving_in: tuple[tuple[str, int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Broker:
    node_id: int
    host: str
    port: int
    rack: str | None = None
    alive: bool = True
    log_dirs: tuple[LogDir, ...] = ()
    # the cluster lists it as live, but the console's own requests to it fail (it has probably
    # just died and is not fenced yet, or a network path to it is broken)
    reachable: bool = True

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def size_bytes(self) -> int | None:
        if not self.log_dirs:
            return None
        return sum(d.size_bytes for d in self.log_dirs if d.size_bytes >= 0)


# Partitions, group members and committed offsets are named tuples, not dataclasses: a refresh
# of a big cluster makes 50,000 + 100,000 of them, and a tuple is made several times faster
# than a frozen dataclass (whose __init__ sets every field through object.__setattr__).


class Partition(NamedTuple):
    topic: str
    partition: int
    leader: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    offline_replicas: tuple[int, ...] = ()
    start_offset: int | None = None
    end_offset: int | None = None
    size_bytes: int | None = None
    error: str | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.partition)

    @property
    def out_of_sync(self) -> tuple[int, ...]:
        isr = set(self.isr)
        return tuple(r for r in self.replicas if r not in isr)


class Reassignment(NamedTuple):
    """A partition reassignment in progress (ListPartitionReassignments): the replica set while it
    runs, and which of those are being added and which removed."""

    topic: str
    partition: int
    replicas: tuple[int, ...]
    adding: tuple[int, ...]
    removing: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ZooKeeperState:
    """What an older (ZooKeeper-mode) cluster keeps in ZooKeeper, when the connection names it."""

    address: str
    error: str | None = None  # None: read this refresh
    controller_id: int | None = None
    registered: tuple[tuple[int, str | None], ...] = ()  # broker id, rack: /brokers/ids
    reassigning: int = 0  # partitions in /admin/reassign_partitions (how Kafka < 2.4 reassigns)
    cluster_id: str | None = None


@dataclass(frozen=True, slots=True)
class Topic:
    name: str
    partitions: tuple[Partition, ...]
    internal: bool = False
    min_insync_replicas: int | None = None
    topic_id: str | None = None

    @property
    def replication_factor(self) -> int:
        return max((len(p.replicas) for p in self.partitions), default=0)


class GroupMember(NamedTuple):
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None = None
    assignment: tuple[tuple[str, int], ...] = ()


class CommittedOffset(NamedTuple):
    topic: str
    partition: int
    offset: int


@dataclass(frozen=True, slots=True)
class Group:
    group_id: str
    state: str
    protocol_type: str = ""
    protocol: str = ""
    coordinator: int | None = None
    members: tuple[GroupMember, ...] = ()
    offsets: tuple[CommittedOffset, ...] = ()
    error: str | None = None
    # "classic" (JoinGroup/SyncGroup) or "consumer" (KIP-848: the broker assigns, Kafka 4+)
    group_type: str = "classic"


@dataclass(frozen=True)
class ClusterSnapshot:
    """Everything the console knows about a cluster at one moment."""

    taken_at: float
    bootstrap: str
    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[Broker, ...]
    topics: tuple[Topic, ...]
    groups: tuple[Group, ...] = ()
    kafka_version: str | None = None
    warnings: tuple[str, ...] = ()
    # how long the refresh took and how many requests it sent, for the status bar and the bench
    refresh_seconds: float = 0.0
    requests: int | None = field(default=None, compare=False)
    reassignments: tuple[Reassignment, ...] = ()
    zookeeper: ZooKeeperState | None = None

    # -- cached lookups (cached_property works on a frozen dataclass: it writes __dict__ directly)

    @cached_property
    def alive_broker_ids(self) -> frozenset[int]:
        return frozenset(b.node_id for b in self.brokers if b.alive)

    @cached_property
    def brokers_by_id(self) -> dict[int, Broker]:
        return {b.node_id: b for b in self.brokers}

    @cached_property
    def partitions(self) -> tuple[Partition, ...]:
        return tuple(p for t in self.topics for p in t.partitions)

    @cached_property
    def partitions_by_key(self) -> dict[tuple[str, int], Partition]:
        return {p.key: p for p in self.partitions}

    @cached_property
    def topics_by_name(self) -> dict[str, Topic]:
        return {t.name: t for t in self.topics}

    @cached_property
    def groups_by_id(self) -> dict[str, Group]:
        return {g.group_id: g for g in self.groups}

    @property
    def partition_count(self) -> int:
        return len(self.partitions)
