"""Where a new partition's replicas go: spread across racks, leaders spread across brokers.

Kafka does not know a datacenter's fault domains unless told, so with racks set every
replica of a partition lands in a different rack while racks allow it. Brokers are walked
in a rack-alternating order (a1, b1, c1, a2, b2, …) so consecutive partitions start on
different racks, and leaders rotate over all brokers.

As Kafka's StripedReplicaPlacer, replicas may also go to fenced brokers (registered, but
down): only as followers, and only where no unfenced broker serves, rack spread coming
first. So a topic with replication factor 3 can be created while one of three brokers is
down; its replica there catches up when the broker returns. Too few registered brokers, or
no unfenced one, is an error with Kafka's message.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from itertools import zip_longest

from partita.engine.cluster.metadata import BrokerInfo


class PlacementError(ValueError):
    pass


def rack_alternated(brokers: Sequence[BrokerInfo]) -> list[int]:
    by_rack: dict[str | None, list[int]] = defaultdict(list)
    for b in sorted(brokers, key=lambda b: b.node_id):
        by_rack[b.rack].append(b.node_id)
    columns = [by_rack[r] for r in sorted(by_rack, key=lambda r: (r is None, r or ""))]
    return [node for row in zip_longest(*columns) for node in row if node is not None]


def assign(brokers: Sequence[BrokerInfo], partitions: int, replication_factor: int, first_index: int = 0,
           fenced: Sequence[BrokerInfo] = ()) -> list[list[int]]:
    """Replica lists for `partitions` new partitions: led by `brokers` (unfenced), followed by them
    and, once they run out, by `fenced` ones; `first_index` continues an existing topic's rotation."""
    if replication_factor < 1:
        raise PlacementError(f"Invalid replication factor {replication_factor}: the replication factor must be "
                             "positive.")
    if not brokers:
        raise PlacementError("All brokers are currently fenced.")
    registered = len(brokers) + len(fenced)
    if replication_factor > registered:
        raise PlacementError(f"The target replication factor of {replication_factor} cannot be reached because "
                             f"only {registered} broker(s) are registered.")
    order = rack_alternated([*brokers, *fenced])
    leaders = rack_alternated(brokers)
    position = {node: i for i, node in enumerate(order)}
    rack_of = {b.node_id: b.rack for b in [*brokers, *fenced]}
    unfenced = set(leaders)
    n = len(order)
    result = []
    for p in range(first_index, first_index + partitions):
        leader = leaders[p % len(leaders)]
        # A shift that grows every full rotation keeps followers from always trailing the same leader.
        shift = 1 + (p // len(leaders)) % max(1, n - 1)
        # Every other broker once, starting `shift` places after the leader.
        start = position[leader] + 1
        candidates = [order[(start + (shift - 1 + k) % (n - 1)) % n] for k in range(n - 1)] if n > 1 else []
        result.append(_replicas(leader, candidates, replication_factor, rack_of, unfenced))
    return result


def _replicas(leader: int, candidates: list[int], replication_factor: int, rack_of: dict[int, str | None],
              unfenced: set[int]) -> list[int]:
    """`leader`, then followers from `candidates`: new racks before used ones, and within each,
    unfenced brokers before fenced ones (Kafka's placer walks racks, taking a rack's unfenced
    brokers first)."""
    replicas = [leader]

    def new_rack(node: int) -> bool:
        return rack_of[node] is None or rack_of[node] not in {rack_of[r] for r in replicas}

    for accept in (lambda node: node in unfenced and new_rack(node), new_rack,
                   lambda node: node in unfenced, lambda node: True):
        _fill(replicas, candidates, replication_factor, accept)
    return replicas


def _fill(replicas: list[int], candidates: list[int], replication_factor: int, accept: Callable[[int], bool]) -> None:
    """Add `candidates` that `accept` takes, in order, until there are `replication_factor` replicas."""
    for node in candidates:
        if len(replicas) == replication_factor:
            return
        if node not in replicas and accept(node):
            replicas.append(node)
