"""Where a new partition's replicas go: spread across racks, leaders spread across brokers.

Kafka does not know a datacenter's fault domains unless told, so with racks set every
replica of a partition lands in a different rack while racks allow it. Brokers are walked
in a rack-alternating order (a1, b1, c1, a2, b2, …) so consecutive partitions start on
different racks, and leaders rotate over all brokers.
"""

from __future__ import annotations

from collections import defaultdict
from itertools import zip_longest

from partita.engine.cluster.metadata import BrokerInfo


class PlacementError(ValueError):
    pass


def rack_alternated(brokers: list[BrokerInfo]) -> list[int]:
    by_rack: dict[str | None, list[int]] = defaultdict(list)
    for b in sorted(brokers, key=lambda b: b.node_id):
        by_rack[b.rack].append(b.node_id)
    columns = [by_rack[r] for r in sorted(by_rack, key=lambda r: (r is None, r or ""))]
    return [node for row in zip_longest(*columns) for node in row if node is not None]


def assign(brokers: list[BrokerInfo], partitions: int, replication_factor: int, first_index: int = 0) -> list[list[int]]:
    """Replica lists for `partitions` new partitions; `first_index` continues an existing topic's rotation."""
    if replication_factor < 1:
        raise PlacementError(f"replication factor must be at least 1, not {replication_factor}")
    if replication_factor > len(brokers):
        raise PlacementError(
            f"replication factor {replication_factor} is larger than the {len(brokers)} available brokers"
        )
    order = rack_alternated(brokers)
    rack_of = {b.node_id: b.rack for b in brokers}
    n = len(order)
    result = []
    for p in range(first_index, first_index + partitions):
        leader_pos = p % n
        # A shift that grows every full rotation keeps followers from always trailing the same leader.
        shift = 1 + (p // n) % max(1, n - 1)
        # Every other broker once, starting `shift` places after the leader.
        candidates = [order[(leader_pos + 1 + (shift - 1 + k) % (n - 1)) % n] for k in range(n - 1)] if n > 1 else []
        replicas = [order[leader_pos]]
        used_racks = {rack_of[replicas[0]]}
        for node in candidates:  # first: new racks only
            if len(replicas) == replication_factor:
                break
            if node not in replicas and (rack_of[node] not in used_racks or rack_of[node] is None):
                replicas.append(node)
                used_racks.add(rack_of[node])
        for node in candidates:  # then: whatever is left
            if len(replicas) == replication_factor:
                break
            if node not in replicas:
                replicas.append(node)
        result.append(replicas)
    return result
