"""Derived facts about a snapshot: what is healthy and what is not.

All functions are pure and take the snapshot (or its parts) as it is.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from .snapshot import NO_LEADER, ClusterSnapshot, Group, Partition, Topic

DEFAULT_MIN_ISR = 1


def offline_replicas(p: Partition, alive: frozenset[int]) -> tuple[int, ...]:
    """Replicas the cluster reports offline, or that sit on a broker that is not alive."""
    reported = set(p.offline_replicas)
    return tuple(r for r in p.replicas if r in reported or r not in alive)


def is_offline(p: Partition, alive: frozenset[int]) -> bool:
    return p.leader == NO_LEADER or p.leader not in alive


def is_under_replicated(p: Partition) -> bool:
    return len(p.isr) < len(p.replicas)


def is_under_min_isr(p: Partition, min_isr: int | None) -> bool:
    m = min_isr if min_isr is not None else DEFAULT_MIN_ISR
    return len(p.isr) < m


def leader_not_preferred(leader: int | None, replicas, isr, alive) -> bool:
    """The leader is not the preferred replica (the first), which is alive and in sync: a
    preferred leader election would move it back (after a failover or a reassignment)."""
    preferred = replicas[0] if replicas else None
    return preferred is not None and leader != preferred and preferred in alive and preferred in isr


def partition_flags(p: Partition, alive: frozenset[int], min_isr: int | None) -> tuple[str, ...]:
    flags = []
    if is_offline(p, alive):
        flags.append("OFFLINE")
    if is_under_replicated(p):
        flags.append("URP")
    if is_under_min_isr(p, min_isr):
        flags.append("<MIN-ISR")
    return tuple(flags)


@dataclass(frozen=True, slots=True)
class HealthCounts:
    brokers_up: int
    brokers_down: int
    brokers_unreachable: int
    topics: int
    partitions: int
    under_replicated: int
    offline: int
    under_min_isr: int
    groups_by_state: tuple[tuple[str, int], ...]
    not_preferred_leader: int = 0  # partitions a preferred leader election would move back


def _topic_partitions(snapshot: ClusterSnapshot) -> list[tuple[Topic, Partition]]:
    return [(t, p) for t in snapshot.topics for p in t.partitions]


def under_replicated_partitions(snapshot: ClusterSnapshot) -> list[Partition]:
    return [p for p in snapshot.partitions if is_under_replicated(p)]


def offline_partitions(snapshot: ClusterSnapshot) -> list[Partition]:
    alive = snapshot.alive_broker_ids
    return [p for p in snapshot.partitions if is_offline(p, alive)]


def under_min_isr_partitions(snapshot: ClusterSnapshot) -> list[Partition]:
    return [p for t, p in _topic_partitions(snapshot) if is_under_min_isr(p, t.min_insync_replicas)]


def health_counts(snapshot: ClusterSnapshot) -> HealthCounts:
    alive = snapshot.alive_broker_ids
    urp = offline = under_min = elsewhere = 0
    for t in snapshot.topics:
        m = t.min_insync_replicas
        for p in t.partitions:
            urp += len(p.isr) < len(p.replicas)
            offline += p.leader == NO_LEADER or p.leader not in alive
            under_min += is_under_min_isr(p, m)
            elsewhere += leader_not_preferred(p.leader, p.replicas, p.isr, alive)
    states = Counter(g.state for g in snapshot.groups)
    return HealthCounts(
        brokers_up=sum(1 for b in snapshot.brokers if b.alive),
        brokers_down=sum(1 for b in snapshot.brokers if not b.alive),
        brokers_unreachable=sum(1 for b in snapshot.brokers if b.alive and not b.reachable),
        topics=len(snapshot.topics),
        partitions=snapshot.partition_count,
        under_replicated=urp,
        offline=offline,
        under_min_isr=under_min,
        groups_by_state=tuple(sorted(states.items())),
        not_preferred_leader=elsewhere,
    )


def leader_counts(snapshot: ClusterSnapshot) -> dict[int, int]:
    counts = Counter(p.leader for p in snapshot.partitions if p.leader != NO_LEADER)
    return {b.node_id: counts.get(b.node_id, 0) for b in snapshot.brokers} | {
        k: v for k, v in counts.items() if k not in snapshot.brokers_by_id
    }


def replica_counts(snapshot: ClusterSnapshot) -> dict[int, int]:
    counts: Counter[int] = Counter()
    for p in snapshot.partitions:
        counts.update(p.replicas)
    return {b.node_id: counts.get(b.node_id, 0) for b in snapshot.brokers} | {
        k: v for k, v in counts.items() if k not in snapshot.brokers_by_id
    }


def partitions_on_broker(snapshot: ClusterSnapshot, node_id: int) -> list[Partition]:
    return [p for p in snapshot.partitions if node_id in p.replicas]


# -- lag ---------------------------------------------------------------------------------------


def partition_lag(committed: int | None, end: int | None) -> int | None:
    """Messages between a group's committed offset and the partition's end offset."""
    if committed is None or end is None or committed < 0:
        return None
    return max(0, end - committed)


def total_lag(committed_and_end) -> int | None:
    """Sum of partition_lag over (committed, end offset) pairs; None when no lag is known."""
    total = None
    for committed, end in committed_and_end:
        lag = partition_lag(committed, end)
        if lag is not None:
            total = (total or 0) + lag
    return total


def group_lag(snapshot: ClusterSnapshot, group: Group) -> int | None:
    """Total lag of a group over its committed partitions; None when nothing is known."""
    by_key = snapshot.partitions_by_key
    return total_lag(
        (o.offset, p.end_offset if (p := by_key.get((o.topic, o.partition))) is not None else None)
        for o in group.offsets
    )
