"""The server-side assignors of the KIP-848 consumer protocol: "uniform" and "range".

Pure functions, no I/O. Input: each member's subscribed topic ids and its current target
assignment, and the partition count of every subscribed topic (by topic id). Output: the
new target assignment, member id -> {topic id: set of partitions}.

- `uniform` (Kafka's default) is sticky and balanced: members keep what they have, the
  partitions nobody has go to their least loaded subscriber, then partitions move from a
  member to another subscriber of their topic with two fewer until no such move is left
  (with the same subscriptions everywhere: counts differ by at most one). Kafka's
  UniformAssignor reaches that balance by other bookkeeping (its optimized and general
  builders, rack awareness); which partitions move may differ.
- `range` gives each subscriber of a topic a contiguous range of its partitions, members
  sorted by member id, the first ones one more when the count does not divide (Kafka's
  RangeAssignor also keeps co-partitioning; it is sticky where this one is not).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

Assignment = dict[uuid.UUID, set[int]]


@dataclass(frozen=True)
class MemberSpec:
    topics: frozenset[uuid.UUID]
    current: Mapping[uuid.UUID, frozenset[int] | set[int]] = field(default_factory=dict)


def uniform(members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]) -> dict[str, Assignment]:
    result: dict[str, Assignment] = {m: {} for m in members}
    if not members:
        return result
    subscribers = {t: sorted(m for m, spec in members.items() if t in spec.topics) for t in partitions}
    owner: dict[tuple[uuid.UUID, int], str] = {}
    counts = dict.fromkeys(members, 0)
    # Sticky: every member keeps what it has that it still subscribes to and still exists.
    for member_id, spec in sorted(members.items()):
        for t, ps in spec.current.items():
            if t in spec.topics and t in partitions:
                for p in ps:
                    if p < partitions[t] and (t, p) not in owner:
                        owner[(t, p)] = member_id
                        counts[member_id] += 1
    # The rest, topics with the fewest subscribers first, each partition to its least loaded subscriber.
    for t in sorted(partitions, key=lambda t: (len(subscribers[t]), str(t))):
        if not subscribers[t]:
            continue
        for p in range(partitions[t]):
            if (t, p) not in owner:
                member_id = min(subscribers[t], key=lambda m: (counts[m], m))
                owner[(t, p)] = member_id
                counts[member_id] += 1
    # Balance: move a partition from a member with two more than one of its other subscribers.
    moved = True
    while moved:
        moved = False
        for (t, p), member_id in sorted(owner.items(), key=lambda kv: (str(kv[0][0]), kv[0][1])):
            target = min(subscribers[t], key=lambda m: (counts[m], m))
            if counts[member_id] - counts[target] > 1:
                owner[(t, p)] = target
                counts[member_id] -= 1
                counts[target] += 1
                moved = True
    for (t, p), member_id in owner.items():
        result[member_id].setdefault(t, set()).add(p)
    return result


def range_(members: Mapping[str, MemberSpec], partitions: Mapping[uuid.UUID, int]) -> dict[str, Assignment]:
    result: dict[str, Assignment] = {m: {} for m in members}
    for topic, count in partitions.items():
        subscribers = sorted(m for m, spec in members.items() if topic in spec.topics)
        if not subscribers:
            continue
        per, extra = divmod(count, len(subscribers))
        start = 0
        for i, member in enumerate(subscribers):
            n = per + (1 if i < extra else 0)
            if n:
                result[member][topic] = set(range(start, start + n))
            start += n
    return result


ASSIGNORS = {"uniform": uniform, "range": range_}
