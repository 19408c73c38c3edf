"""Which `__consumer_offsets` partition holds a group, as Kafka computes it.

Kafka: `Utils.abs(groupId.hashCode()) % partitionCount`, where `hashCode` is Java's
String hash over UTF-16 code units (s[0]*31^(n-1) + ... + s[n-1], wrapping at 32 bits)
and `Utils.abs(n)` is `n == Integer.MIN_VALUE ? 0 : Math.abs(n)`. Not `n & 0x7fffffff`
(that is `Utils.toPositive`, the producer partitioner's): for a negative hash the two
pick different partitions — checked against Kafka 4.1's own `__consumer_offsets` in
tests/engine/groups/test_offsets_topic_format.py.
"""

from __future__ import annotations

OFFSETS_TOPIC = "__consumer_offsets"
_INT_MIN = -(2**31)


def java_string_hashcode(s: str) -> int:
    """Java's `String.hashCode()` as a signed 32-bit int."""
    h = 0
    data = s.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_abs(n: int) -> int:
    """Kafka's `Utils.abs`: the absolute value, except Integer.MIN_VALUE, which maps to 0."""
    return 0 if n == _INT_MIN else abs(n)


def partition_for(group_id: str, partition_count: int) -> int:
    if partition_count <= 0:
        raise ValueError("the offsets topic has no partitions")
    return kafka_abs(java_string_hashcode(group_id)) % partition_count
