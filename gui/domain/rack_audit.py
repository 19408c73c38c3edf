"""What the failure of one rack would do to the partitions: the audit behind the warning that
Kafka does not know the datacenter's fault domains unless told, so a replica list can sit in
one rack without anything saying so.

A fault domain is a rack; a broker without a rack is a domain of its own. Judged per broker
instead (`per_broker`), the same audit answers the question before a restart or a patch:
what would stopping this one broker now do? For each domain, every partition with a replica
there is judged as if that domain went down now, on top of whatever is already down:

- offline: no in-sync replica would be left outside it. With unclean leader election off
  (Kafka's default) an out-of-sync replica may not take over, so the partition has no leader
  until the rack returns.
- refuses acks=all: an in-sync replica would be left, but fewer than min.insync.replicas
  (counted up to the replica count, as Kafka 4 does), so acks=all producers get
  NOT_ENOUGH_REPLICAS.
- one copy left: writes go on, on a single in-sync replica where there were more.

A partition that is already offline or already short of in-sync replicas is not blamed on a
rack here: the partitions view shows it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from .health import DEFAULT_MIN_ISR
from .snapshot import NO_LEADER, ClusterSnapshot

OFFLINE = "offline"
REFUSES_ACKS_ALL = "refuses acks=all"
ONE_COPY_LEFT = "one copy left"
EFFECTS = (OFFLINE, REFUSES_ACKS_ALL, ONE_COPY_LEFT)  # worst first


def domain_name(rack: str | None, node_id: int) -> str:
    return rack if rack else f"broker {node_id} (no rack)"


def broker_domain(node_id: int) -> str:
    return f"broker {node_id}"


@dataclass(frozen=True, slots=True)
class PartitionRisk:
    domain: str
    topic: str
    partition: int
    effect: str
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    survivors: tuple[int, ...]  # the in-sync replicas left outside the domain
    min_isr: int


@dataclass(frozen=True, slots=True)
class DomainAudit:
    domain: str
    brokers: tuple[int, ...]
    brokers_down: int  # of those, already down
    partitions_with_a_replica: int
    counts: tuple[int, ...]  # per effect, in EFFECTS order
    risks: tuple[PartitionRisk, ...]  # sorted by effect, topic, partition


def effective_min_isr(min_isr: int | None, replicas: int) -> int:
    return max(1, min(min_isr if min_isr is not None else DEFAULT_MIN_ISR, replicas))


def _judge(leader: int, replicas: tuple[int, ...], isr: tuple[int, ...], min_isr: int | None,
           domain_of: dict[int, str], alive: frozenset[int]) -> tuple[tuple[str, str | None, tuple[int, ...], int], ...]:
    """(domain, effect or None, in-sync replicas left, min ISR) for each domain holding a replica."""
    domains = sorted({domain_of[r] for r in replicas if r in domain_of})
    live_isr = [r for r in isr if r in alive]
    needed = effective_min_isr(min_isr, len(replicas))
    healthy = leader != NO_LEADER and leader in alive and len(live_isr) >= needed
    out = []
    for d in domains:
        survivors = tuple(r for r in live_isr if domain_of.get(r) != d)
        effect = None
        if healthy:
            if not survivors:
                effect = OFFLINE
            elif len(survivors) < needed:
                effect = REFUSES_ACKS_ALL
            elif len(survivors) == 1 and len(live_isr) > 1:
                effect = ONE_COPY_LEFT
        out.append((d, effect, survivors, needed))
    return tuple(out)


def audit(s: ClusterSnapshot, per_broker: bool = False) -> list[DomainAudit]:
    """Every fault domain of the cluster with the partitions its loss would hurt: the racks in
    name order, or (`per_broker`) each broker on its own, in id order."""
    if per_broker:
        domain_of = {b.node_id: broker_domain(b.node_id) for b in s.brokers}
    else:
        domain_of = {b.node_id: domain_name(b.rack, b.node_id) for b in s.brokers}
    alive = s.alive_broker_ids
    members: dict[str, list[int]] = {}
    for b in s.brokers:
        members.setdefault(domain_of[b.node_id], []).append(b.node_id)
    touched = dict.fromkeys(members, 0)
    # per domain, per effect (EFFECTS order): filled in topic and partition order, so no sort
    risks: dict[str, tuple[list[PartitionRisk], ...]] = {d: tuple([] for _ in EFFECTS) for d in members}
    slot = {e: i for i, e in enumerate(EFFECTS)}
    # Thousands of partitions share a replica state: judge each state once.
    judged: dict[tuple, tuple[tuple[str, int, tuple[int, ...], int], ...]] = {}
    for t in sorted(s.topics, key=lambda t: t.name):
        m = t.min_insync_replicas
        for p in sorted(t.partitions, key=lambda p: p.partition):
            state = (p.leader, p.replicas, p.isr, m)
            verdicts = judged.get(state)
            if verdicts is None:
                verdicts = judged[state] = tuple(
                    (d, -1 if effect is None else slot[effect], survivors, needed)
                    for d, effect, survivors, needed in _judge(p.leader, p.replicas, p.isr, m, domain_of, alive)
                )
            for d, i, survivors, needed in verdicts:
                touched[d] += 1
                if i >= 0:
                    risks[d][i].append(
                        PartitionRisk(d, t.name, p.partition, EFFECTS[i], p.replicas, p.isr, survivors, needed))
    out = []
    for d in sorted(members, key=lambda d: min(members[d]) if per_broker else d):
        ids = tuple(sorted(members[d]))
        out.append(DomainAudit(d, ids, sum(1 for i in ids if i not in alive), touched[d],
                               tuple(len(found) for found in risks[d]),
                               tuple(r for found in risks[d] for r in found)))
    return out
