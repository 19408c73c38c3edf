"""A reassignment plan: replicas dragged onto other brokers, what that costs and what it risks.

Pure: a plan is an immutable map from partition to its new replica list, checked against the
partitions as the console last saw them. Moving a replica keeps its place in the list, so
moving the first replica moves the preferred leader with it.

Cost is what Kafka will copy: each new replica fetches the whole partition from its leader. A
throttle (kafka-reassign-partitions --throttle) limits each broker's replication traffic in
and out, so the time at the throttle is set by the busiest broker.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property

from . import rack_audit as ra
from .snapshot import NO_LEADER, Broker, ClusterSnapshot, Partition, Topic


class PlanError(ValueError):
    """A move that cannot be planned; the message says why, for the operator."""


@dataclass(frozen=True, slots=True)
class PartitionState:
    """What the planner needs to know of one partition."""

    topic: str
    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    size_bytes: int | None
    min_isr: int | None = None

    @property
    def key(self) -> tuple[str, int]:
        return (self.topic, self.partition)


@dataclass(frozen=True, slots=True)
class Move:
    state: PartitionState
    target: tuple[int, ...]

    @property
    def key(self) -> tuple[str, int]:
        return self.state.key

    @property
    def adding(self) -> tuple[int, ...]:
        return tuple(b for b in self.target if b not in self.state.replicas)

    @property
    def removing(self) -> tuple[int, ...]:
        return tuple(b for b in self.state.replicas if b not in self.target)

    @property
    def bytes_to_copy(self) -> int | None:
        size = self.state.size_bytes
        return None if size is None or size < 0 else size * len(self.adding)


@dataclass(frozen=True)
class Plan:
    moves: tuple[Move, ...] = ()  # in the order they were first planned

    def __bool__(self) -> bool:
        return bool(self.moves)

    def __len__(self) -> int:
        return len(self.moves)

    @cached_property
    def _positions(self) -> dict[tuple[str, int], int]:
        # "Plan fixes" can plan thousands of moves one by one: each lookup stays O(1)
        return {m.key: i for i, m in enumerate(self.moves)}

    def target_of(self, key: tuple[str, int]) -> tuple[int, ...] | None:
        i = self._positions.get(key)
        return None if i is None else self.moves[i].target

    def replicas_of(self, state: PartitionState) -> tuple[int, ...]:
        """The replicas the plan gives a partition (its current ones when unplanned)."""
        return self.target_of(state.key) or state.replicas

    def without(self, keys: Iterable[tuple[str, int]]) -> Plan:
        drop = set(keys)
        return Plan(tuple(m for m in self.moves if m.key not in drop))


def move_replica(plan: Plan, state: PartitionState, source: int, target: int, brokers: Iterable[int]) -> Plan:
    """The plan with `state`'s replica on `source` moved to `target`."""
    name = f"{state.topic}-{state.partition}"
    if target not in set(brokers):
        raise PlanError(f"there is no broker {target}")
    current = plan.replicas_of(state)
    if source not in current:
        raise PlanError(f"{name} has no replica on broker {source} in the plan (replicas {_ids(current)})")
    if source == target:
        return plan
    if target in current:
        raise PlanError(f"broker {target} already holds a replica of {name}")
    new = tuple(target if b == source else b for b in current)
    return set_replicas(plan, state, new)


def set_replicas(plan: Plan, state: PartitionState, replicas: tuple[int, ...]) -> Plan:
    if len(set(replicas)) != len(replicas) or not replicas:
        raise PlanError(f"{state.topic}-{state.partition}: a replica list needs distinct brokers")
    moves, i = plan.moves, plan._positions.get(state.key)
    if replicas == state.replicas:  # back where it is: no move
        return plan if i is None else Plan(moves[:i] + moves[i + 1:])
    move = Move(state, replicas)
    if i is None:
        return Plan((*moves, move))
    return Plan((*moves[:i], move, *moves[i + 1:]))  # keeps its place in the list


def spread(plan: Plan, states: Iterable[PartitionState], brokers: tuple[Broker, ...],
           load: Mapping[int, int]) -> tuple[Plan, list[str]]:
    """Adds moves that spread each partition's replicas over as many racks as it can use: a
    replica that shares its rack with another (the later one in the list, so the preferred
    leader stays) moves to the least loaded live broker of a rack the partition lacks. `load`:
    replicas per broker now; the plan's own moves count too. Returns the plan and, for the
    partitions it could not help, why."""
    rack_of = {b.node_id: b.rack for b in brokers}
    live_racks = {b.rack for b in brokers if b.alive and b.rack}
    if not live_racks or any(b.rack is None for b in brokers):
        return plan, ["spreading needs every broker to have a rack"]
    counts = dict(load)
    for m in plan.moves:
        for b in m.adding:
            counts[b] = counts.get(b, 0) + 1
        for b in m.removing:
            counts[b] = counts.get(b, 0) - 1
    notes = []
    changed: dict[tuple[str, int], Move] = {}  # merged into the plan once, at the end
    for s in states:
        name = f"{s.topic}-{s.partition}"
        current = plan.replicas_of(s)
        could = min(len(current), len(live_racks))
        while len({rack_of.get(b) for b in current}) < could:
            seen: set[str | None] = set()
            doubled = []  # replicas in a rack an earlier replica is in already
            for b in current:
                rack = rack_of.get(b)
                if rack in seen:
                    doubled.append(b)
                else:
                    seen.add(rack)
            used = {rack_of.get(b) for b in current}
            candidates = [b.node_id for b in brokers if b.alive and b.rack not in used and b.node_id not in current]
            if not doubled or not candidates:
                break
            target = min(candidates, key=lambda b: (counts.get(b, 0), b))
            source = doubled[-1]
            current = tuple(target if b == source else b for b in current)  # in place, as move_replica
            counts[target] = counts.get(target, 0) + 1
            counts[source] = counts.get(source, 0) - 1
            changed[s.key] = Move(s, current)
        if len({rack_of.get(b) for b in current}) < could:
            notes.append(f"{name}: no live broker in a rack it lacks")
        elif current == s.replicas:
            notes.append(f"{name}: already in {could} racks; only more replicas would lower its risk")
    kept = tuple(changed.pop(m.key, m) for m in plan.moves)  # an edited move keeps its place
    return Plan(tuple(m for m in (*kept, *changed.values()) if m.target != m.state.replicas)), notes


# -- cost --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanCost:
    partitions: int
    replicas_added: int
    bytes_to_copy: int
    unknown_sizes: int  # partitions whose size the cluster did not report
    bytes_in: dict[int, int]  # per broker: what its new replicas fetch
    bytes_out: dict[int, int]  # per broker: what it serves as leader to new replicas
    seconds_at_throttle: float | None  # None without a throttle

    @property
    def busiest_broker(self) -> int | None:
        load = {b: max(self.bytes_in.get(b, 0), self.bytes_out.get(b, 0)) for b in {*self.bytes_in, *self.bytes_out}}
        return max(load, key=lambda b: (load[b], -b)) if load else None


def cost(plan: Plan, throttle_bytes_per_s: int | None = None) -> PlanCost:
    bytes_in: dict[int, int] = {}
    bytes_out: dict[int, int] = {}
    total = unknown = added = 0
    for m in plan.moves:
        size = m.state.size_bytes
        added += len(m.adding)
        if size is None or size < 0:
            unknown += 1
            continue
        source = m.state.leader if m.state.leader is not None else (m.state.isr or m.state.replicas)[0]
        for b in m.adding:
            bytes_in[b] = bytes_in.get(b, 0) + size
            bytes_out[source] = bytes_out.get(source, 0) + size
            total += size
    seconds = None
    if throttle_bytes_per_s:
        busiest = max([*bytes_in.values(), *bytes_out.values()], default=0)
        seconds = busiest / throttle_bytes_per_s
    return PlanCost(len(plan.moves), added, total, unknown, bytes_in, bytes_out, seconds)


# -- rack risks --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RackChange:
    """How the plan changes what one rack's failure would do, counted over the planned partitions."""

    domain: str
    before: tuple[int, ...]  # per effect (rack_audit.EFFECTS order)
    after: tuple[int, ...]

    # Offline and acks=all-refused partitions, worst first. "One copy left" does not count: moving
    # a replica of a two-replica partition only moves that exposure from one rack to another.
    @property
    def worse(self) -> bool:
        return self.after[:2] > self.before[:2]

    @property
    def better(self) -> bool:
        return self.after[:2] < self.before[:2]


def rack_changes(plan: Plan, brokers: tuple[Broker, ...]) -> list[RackChange]:
    """Each rack's audit of the planned partitions before and after the plan (once it is done:
    every new replica in sync, the leader kept if it stays, else the first live new replica)."""
    if not plan:
        return []
    alive = {b.node_id for b in brokers if b.alive}
    before = ra.audit(_mini_snapshot(brokers, [m.state for m in plan.moves]))
    after_states = []
    for m in plan.moves:
        s = m.state
        leader = s.leader if s.leader in m.target else next((b for b in m.target if b in alive), NO_LEADER)
        isr = tuple(b for b in m.target if b in alive)
        after_states.append(PartitionState(s.topic, s.partition, leader, m.target, isr, s.size_bytes, s.min_isr))
    after = ra.audit(_mini_snapshot(brokers, after_states))
    after_by = {d.domain: d for d in after}
    return [RackChange(d.domain, d.counts, after_by[d.domain].counts) for d in before]


def spread_warnings(plan: Plan, brokers: tuple[Broker, ...]) -> list[str]:
    """Moves that put replicas in fewer racks than they could use, or on brokers that are down."""
    rack_of = {b.node_id: b.rack for b in brokers}
    racks = {r for r in rack_of.values() if r}
    alive = {b.node_id for b in brokers if b.alive}
    out = []
    for m in plan.moves:
        name = f"{m.state.topic}-{m.state.partition}"
        down = [b for b in m.adding if b not in alive]
        if down:
            out.append(f"{name}: broker {_ids(down)} is down; the move waits until it returns")
        if racks:
            used = {rack_of.get(b) for b in m.target if rack_of.get(b)}
            if len(used) < min(len(m.target), len(racks)):
                out.append(f"{name}: replicas {_ids(m.target)} use {len(used)} of {len(racks)} racks "
                           f"({', '.join(sorted(used)) or 'none'})")
    return out


def _mini_snapshot(brokers: tuple[Broker, ...], states: list[PartitionState]) -> ClusterSnapshot:
    by_topic: dict[str, list[PartitionState]] = {}
    for s in states:
        by_topic.setdefault(s.topic, []).append(s)
    topics = tuple(
        Topic(name, tuple(Partition(s.topic, s.partition, NO_LEADER if s.leader is None else s.leader,
                                    s.replicas, s.isr) for s in group), min_insync_replicas=group[0].min_isr)
        for name, group in sorted(by_topic.items())
    )
    return ClusterSnapshot(0.0, "", None, None, brokers, topics)


# -- export ------------------------------------------------------------------------------------


def to_reassignment_json(plan: Plan) -> str:
    """The plan in the format of kafka-reassign-partitions --reassignment-json-file."""
    return json.dumps({"version": 1, "partitions": [
        {"topic": m.state.topic, "partition": m.state.partition, "replicas": list(m.target)} for m in plan.moves
    ]}, indent=2)


def refresh_states(plan: Plan, states: Mapping[tuple[str, int], PartitionState]) -> Plan:
    """The plan against newer partition states; moves of partitions that are gone are dropped."""
    return Plan(tuple(Move(states[m.key], m.target) for m in plan.moves if m.key in states))


PLANNED, RUNNING, DONE, REFUSED, CANCELLED = "planned", "running", "done", "refused", "cancelled"


def move_status(move: Move, current: PartitionState | None, in_progress: bool, error: str | None,
                submitted: bool) -> str:
    """Where a move stands: planned (not sent), refused (with the cluster's reason), running
    (listed by the cluster), done (the partition has the target replicas), or cancelled (sent,
    no longer running, replicas not the target)."""
    if error:
        return f"{REFUSED}: {error}"
    if in_progress:
        return RUNNING
    if current is not None and current.replicas == move.target:
        return DONE
    if not submitted:
        return PLANNED
    if current is not None and set(current.replicas) == {*move.state.replicas, *move.target} \
            and current.replicas != move.state.replicas:
        # no longer listed, but the partition still has old and new replicas: the metadata the
        # refresh read is a moment older than the list of reassignments (it ends either way)
        return RUNNING
    return CANCELLED


def _ids(ids) -> str:
    return ",".join(map(str, ids))
