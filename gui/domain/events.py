"""What changed between two snapshots, as events an operator cares about."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .snapshot import NO_LEADER, ClusterSnapshot


class EventKind(Enum):
    BROKER_DOWN = "broker down"
    BROKER_UP = "broker up"
    CONTROLLER_CHANGE = "controller change"
    LEADER_CHANGE = "leader change"
    PARTITION_OFFLINE = "partition offline"
    PARTITION_ONLINE = "partition online"
    ISR_SHRINK = "ISR shrink"
    ISR_EXPAND = "ISR expand"
    TOPIC_CREATED = "topic created"
    TOPIC_DELETED = "topic deleted"


@dataclass(frozen=True, slots=True)
class ClusterEvent:
    at: float
    kind: EventKind
    broker: int | None = None
    topic: str | None = None
    partition: int | None = None
    before: tuple[int, ...] | int | None = None
    after: tuple[int, ...] | int | None = None

    def describe(self) -> str:
        k = self.kind
        where = f"{self.topic}-{self.partition}" if self.partition is not None else (self.topic or "")
        if k in (EventKind.BROKER_DOWN, EventKind.BROKER_UP):
            return f"broker {self.broker} {'down' if k is EventKind.BROKER_DOWN else 'up'}"
        if k is EventKind.CONTROLLER_CHANGE:
            return f"controller {self.before} → {self.after}"
        if k is EventKind.LEADER_CHANGE:
            return f"{where}: leader {_fmt(self.before)} → {_fmt(self.after)}"
        if k in (EventKind.ISR_SHRINK, EventKind.ISR_EXPAND):
            return f"{where}: ISR {_fmt(self.before)} → {_fmt(self.after)}"
        return f"{where}: {k.value}"


def _fmt(v) -> str:
    if isinstance(v, tuple):
        return "[" + ",".join(map(str, v)) + "]"
    return "none" if v in (None, NO_LEADER) else str(v)


def diff(before: ClusterSnapshot | None, after: ClusterSnapshot) -> list[ClusterEvent]:
    """Events that lead from `before` to `after` (none for the first snapshot)."""
    if before is None:
        return []
    at = after.taken_at
    events: list[ClusterEvent] = []
    was_alive, is_alive = before.alive_broker_ids, after.alive_broker_ids
    for b in sorted(was_alive - is_alive):
        events.append(ClusterEvent(at, EventKind.BROKER_DOWN, broker=b))
    for b in sorted(is_alive - was_alive):
        events.append(ClusterEvent(at, EventKind.BROKER_UP, broker=b))
    if before.controller_id != after.controller_id and after.controller_id is not None:
        events.append(
            ClusterEvent(at, EventKind.CONTROLLER_CHANGE, before=before.controller_id, after=after.controller_id)
        )
    old_topics, new_topics = before.topics_by_name, after.topics_by_name
    for name in sorted(new_topics.keys() - old_topics.keys()):
        events.append(ClusterEvent(at, EventKind.TOPIC_CREATED, topic=name))
    for name in sorted(old_topics.keys() - new_topics.keys()):
        events.append(ClusterEvent(at, EventKind.TOPIC_DELETED, topic=name))
    old_parts = before.partitions_by_key
    for p in after.partitions:
        q = old_parts.get(p.key)
        if q is None or q is p:
            continue
        t, n = p.key
        if q.leader != p.leader:
            old_off = q.leader == NO_LEADER or q.leader not in was_alive
            new_off = p.leader == NO_LEADER or p.leader not in is_alive
            if new_off and not old_off:
                events.append(ClusterEvent(at, EventKind.PARTITION_OFFLINE, topic=t, partition=n, before=q.leader))
            elif old_off and not new_off:
                events.append(ClusterEvent(at, EventKind.PARTITION_ONLINE, topic=t, partition=n, after=p.leader))
            events.append(
                ClusterEvent(at, EventKind.LEADER_CHANGE, topic=t, partition=n, before=q.leader, after=p.leader)
            )
        if q.isr != p.isr:
            old_set, new_set = set(q.isr), set(p.isr)
            if new_set - old_set:
                events.append(ClusterEvent(at, EventKind.ISR_EXPAND, topic=t, partition=n, before=q.isr, after=p.isr))
            if old_set - new_set:
                events.append(ClusterEvent(at, EventKind.ISR_SHRINK, topic=t, partition=n, before=q.isr, after=p.isr))
    return events


def summarize(events: list[ClusterEvent], per_kind: int = 20) -> list[tuple[float, str, str]]:
    """(time, kind, text) lines for an event log: every event while there are few of a kind,
    one summary line when a refresh brings many (a broker failure moves thousands of leaders)."""
    by_kind: dict[EventKind, list[ClusterEvent]] = {}
    for e in events:
        by_kind.setdefault(e.kind, []).append(e)
    out: list[tuple[float, str, str]] = []
    for kind, evs in by_kind.items():
        if len(evs) <= per_kind:
            out.extend((e.at, kind.value, e.describe()) for e in evs)
        else:
            examples = ", ".join(e.describe() for e in evs[:3])
            out.append((evs[0].at, kind.value, f"{kind.value} on {len(evs):,} partitions (e.g. {examples}, …)"))
    return out
