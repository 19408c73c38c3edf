"""Which `__consumer_offsets` partition holds a group, as Kafka computes it.

Kafka: `Utils.abs(groupId.hashCode()) % partitionCount`, where `hashCode` is Java's
String hash over UTF-16 code units (s[0]*31^(n-1) + ... + s[n-1], wrapping at 32 bits)
and `Utils.abs` is `x & 0x7fffffff` — not Math.abs, so Integer.MIN_VALUE maps to 0.
"""

from __future__ import annotations

OFFSETS_TOPIC = "__consumer_offsets"


def java_string_hashcode(s: str) -> int:
    """Java's `String.hashCode()` as a signed 32-bit int."""
    h = 0
    data = s.encode("utf-16-be", "surrogatepass")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h - (1 << 32) if h & 0x80000000 else h


def kafka_abs(n: int) -> int:
    """Kafka's `Utils.abs`: the low 31 bits (so abs(Integer.MIN_VALUE) is 0)."""
    return n & 0x7FFFFFFF


def partition_for(group_id: str, partition_count: int) -> int:
    if partition_count <= 0:
        raise ValueError("the offsets topic has no partitions")
    return kafka_abs(java_string_hashcode(group_id)) % partition_count
