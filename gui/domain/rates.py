"""Throughput from successive snapshots: messages/s from end-offset deltas, bytes/s from log sizes.

No JMX, no agent: this works on any Kafka cluster the console can list offsets on.
"""

from __future__ import annotations

from dataclasses import dataclass

from .snapshot import ClusterSnapshot


@dataclass(frozen=True, slots=True)
class Rates:
    at: float
    interval: float
    messages_per_s: float
    by_topic: tuple[tuple[str, float], ...]
    bytes_per_s: float | None = None


def rates(before: ClusterSnapshot, after: ClusterSnapshot) -> Rates | None:
    """Messages/s per topic and in total between two snapshots, or None if they can't be compared.

    A partition whose end offset went backwards (topic deleted and recreated) or that is
    missing from either snapshot is left out rather than counted as negative.
    """
    dt = after.taken_at - before.taken_at
    if dt <= 0:
        return None
    old = before.partitions_by_key
    per_topic: dict[str, int] = {}
    for t in after.topics:
        total = 0
        for p in t.partitions:
            q = old.get(p.key)
            if q is None or q.end_offset is None or p.end_offset is None:
                continue
            d = p.end_offset - q.end_offset
            if d > 0:
                total += d
        per_topic[t.name] = total
    msgs = sum(per_topic.values())
    bytes_s = None
    old_sizes = [b.size_bytes for b in before.brokers]
    new_sizes = [b.size_bytes for b in after.brokers]
    if all(s is not None for s in old_sizes + new_sizes) and before.brokers:
        delta = sum(new_sizes) - sum(old_sizes)  # type: ignore[arg-type]
        bytes_s = max(0.0, delta / dt)
    by_topic = tuple(sorted(((k, v / dt) for k, v in per_topic.items() if v), key=lambda kv: -kv[1]))
    return Rates(after.taken_at, dt, msgs / dt, by_topic, bytes_s)
