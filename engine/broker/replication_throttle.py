"""Which replica fetches a replication throttle slows, as Kafka decides (its
ReplicationQuotaManager on the leader and the follower).

A rate alone throttles nothing: it applies only to the replicas a topic lists, which is why
`kafka-reassign-partitions --throttle` sets both.

- Follower side: `follower.replication.throttled.rate` (a dynamic config of the fetching
  broker) applies to the partitions whose topic lists "partition:follower" (or "*") in
  `follower.replication.throttled.replicas`.
- Leader side: `leader.replication.throttled.rate` (of the leader broker) applies to the
  partitions whose topic lists "partition:leader" (or "*") in
  `leader.replication.throttled.replicas`.

Either only while the follower is out of the ISR: a replica in sync is never held back. Kafka
enforces the leader side on the leader; the engine applies both in the follower's fetcher,
the lower rate winning.
"""

from __future__ import annotations

FOLLOWER_RATE, LEADER_RATE = "follower.replication.throttled.rate", "leader.replication.throttled.rate"
FOLLOWER_REPLICAS, LEADER_REPLICAS = "follower.replication.throttled.replicas", "leader.replication.throttled.replicas"


def lists(value: str | None, partition: int, broker: int) -> bool:
    """Whether a *.throttled.replicas value ("0:1,0:2,1:3", "*", or empty) names this replica."""
    if not value:
        return False
    value = value.strip()
    if value == "*":
        return True
    wanted = f"{partition}:{broker}"
    return any(entry.strip() == wanted for entry in value.split(","))


def any_rate_set(image) -> bool:
    return any(FOLLOWER_RATE in c or LEADER_RATE in c for c in image.broker_configs.values())


def broker_rate(image, broker: int, name: str) -> int | None:
    """A broker's dynamic rate: its own value, else the cluster-wide default; None when unset."""
    value = image.broker_configs.get(broker, {}).get(name) or image.broker_configs.get(-1, {}).get(name)
    return int(value) if value else None


def throttle_rate(image, topic: str, partition: int, follower: int) -> int | None:
    """The bytes/s `follower`'s fetches of this partition are held to, or None (not throttled)."""
    state = image.topics.get(topic)
    if state is None or partition >= len(state.partitions):
        return None
    part = state.partitions[partition]
    if follower in part.isr:
        return None
    rates = []
    if lists(state.configs.get(FOLLOWER_REPLICAS), partition, follower):
        rates.append(broker_rate(image, follower, FOLLOWER_RATE))
    if part.leader >= 0 and lists(state.configs.get(LEADER_REPLICAS), partition, part.leader):
        rates.append(broker_rate(image, part.leader, LEADER_RATE))
    rates = [r for r in rates if r is not None]
    return min(rates) if rates else None
