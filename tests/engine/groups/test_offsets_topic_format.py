"""The bytes in `__consumer_offsets`, read with a consumer and decoded by this file's own
decoder (written from Kafka's message schemas, sharing nothing with the engine's writer).

The same client actions (join, commit two offsets with metadata and leader epoch, leave)
run against the engine and against Apache Kafka; both logs must decode to the same
records in the same partition — the one Kafka's hash of the group id picks.
"""

from __future__ import annotations

import struct
import time

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

from tests.engine.groups.members import Member, assignment_partitions, drive, subscription_topics
from tests.engine.helpers import create_topic, produce

OFFSETS_TOPIC = "__consumer_offsets"
VALUE_VERSION = "v"  # offset value versions are checked apart: the engine writes v3, Kafka 4.1 v4


# -- an independent decoder --------------------------------------------------------------


class Cursor:
    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def take(self, fmt: str):
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values[0] if len(values) == 1 else values

    def uvarint(self) -> int:
        shift = result = 0
        while True:
            b = self.data[self.pos]
            self.pos += 1
            result |= (b & 0x7F) << shift
            if b < 0x80:
                return result
            shift += 7

    def string(self, compact: bool = False):
        n = self.uvarint() - 1 if compact else self.take(">h")
        if n < 0:
            return None
        s = self.data[self.pos : self.pos + n].decode()
        self.pos += n
        return s

    def blob(self, compact: bool = False) -> bytes:
        n = self.uvarint() - 1 if compact else self.take(">i")
        b = self.data[self.pos : self.pos + max(n, 0)]
        self.pos += max(n, 0)
        return b

    def skip_tags(self) -> None:
        for _ in range(self.uvarint()):
            self.uvarint()
            self.pos += self.uvarint()


def decode_key(key: bytes):
    c = Cursor(key)
    version = c.take(">h")
    if version in (0, 1):
        return ("offset", version, c.string(), c.string(), c.take(">i"))
    if version == 2:
        return ("group", version, c.string())
    return ("other", version)


def decode_offset_value(value: bytes):
    c = Cursor(value)
    version = c.take(">h")
    flexible = version >= 4
    offset = c.take(">q")
    epoch = c.take(">i") if version >= 3 else -1
    metadata = c.string(flexible)
    commit_ts = c.take(">q")
    expire_ts = c.take(">q") if version == 1 else -1
    if flexible:
        c.skip_tags()
    assert c.pos == len(value), "trailing bytes in OffsetCommitValue"
    return version, offset, epoch, metadata, commit_ts, expire_ts


def decode_group_value(value: bytes):
    c = Cursor(value)
    version = c.take(">h")
    flexible = version >= 4
    protocol_type = c.string(flexible)
    generation = c.take(">i")
    protocol = c.string(flexible)
    leader = c.string(flexible)
    state_ts = c.take(">q") if version >= 2 else -1
    count = c.uvarint() - 1 if flexible else c.take(">i")
    members = []
    for _ in range(count):
        member_id = c.string(flexible)
        instance = c.string(flexible) if version >= 3 else None
        client_id, host = c.string(flexible), c.string(flexible)
        rebalance = c.take(">i") if version >= 1 else None
        session = c.take(">i")
        subscription, assignment = c.blob(flexible), c.blob(flexible)
        if flexible:
            c.skip_tags()
        members.append((member_id, instance, client_id, host, rebalance, session, subscription, assignment))
    if flexible:
        c.skip_tags()
    assert c.pos == len(value), "trailing bytes in GroupMetadataValue"
    return version, protocol_type, generation, protocol, leader, state_ts, members


def java_hash(s: str) -> int:
    h = 0
    units = s.encode("utf-16-be")
    for i in range(0, len(units), 2):
        h = (h * 31 + int.from_bytes(units[i : i + 2], "big")) & 0xFFFFFFFF
    return h - 2**32 if h >= 2**31 else h


def coordinator_partition(group: str, partitions: int) -> int:
    """Kafka's Utils.abs(hashCode) % partitions (Utils.abs(Integer.MIN_VALUE) is 0)."""
    h = java_hash(group)
    return (0 if h == -(2**31) else abs(h)) % partitions


# -- reading the topic -------------------------------------------------------------------


def offsets_topic_records(cluster, group: str):
    """(partition, key, value) of every `__consumer_offsets` record about `group`, in order."""
    reader = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "format-reader",
                       "enable.auto.commit": False,
                       "enable.partition.eof": False})
    try:
        md = reader.list_topics(OFFSETS_TOPIC, timeout=15).topics[OFFSETS_TOPIC]
        ends, todo = {}, []
        for p in md.partitions:
            low, high = reader.get_watermark_offsets(TopicPartition(OFFSETS_TOPIC, p), timeout=15)
            if high > low:
                ends[p] = high
                todo.append(TopicPartition(OFFSETS_TOPIC, p, OFFSET_BEGINNING))
        reader.assign(todo)
        out, positions = [], dict.fromkeys(ends, 0)
        deadline = time.monotonic() + 30
        # done by the reader's position, not the last record's offset: a partition may end in a
        # transaction marker (a group's transactional commit), which no consumer is handed
        while any(positions[p] < ends[p] for p in ends):
            assert time.monotonic() < deadline, f"could not read {OFFSETS_TOPIC}: {positions} of {ends}"
            for msg in reader.consume(500, 0.5):
                assert not msg.error(), msg.error()
                key = msg.key()
                if key is not None and decode_key(key)[0] != "other" and decode_key(key)[2] == group:
                    out.append((msg.partition(), key, msg.value()))
            positions.update((tp.partition, tp.offset) for tp in reader.position(todo) if tp.offset >= 0)
        return out, len(md.partitions)
    finally:
        reader.close()


def normalized(records):
    """What the records say, with member ids numbered and timestamps reduced to sanity."""
    ids: dict[str, str] = {}
    versions: set[int] = set()

    def member(mid):
        return None if mid is None else ids.setdefault(mid, f"member-{len(ids)}")

    out = []
    for _, key, value in records:
        k = decode_key(key)
        if value is None:
            out.append(("tombstone",) + k)
        elif k[0] == "offset":
            version, offset, epoch, metadata, commit_ts, expire_ts = decode_offset_value(value)
            assert abs(commit_ts - time.time() * 1000) < 300_000 and expire_ts == -1
            out.append(("offset", k[1], VALUE_VERSION, k[3], k[4], offset, epoch, metadata))
            versions.add(version)
        else:
            version, ptype, generation, protocol, leader, state_ts, members = decode_group_value(value)
            assert abs(state_ts - time.time() * 1000) < 300_000
            out.append(("group", k[1], version, ptype, generation, protocol, member(leader), [
                (member(mid), inst, cid, host, reb, ses, subscription_topics(sub), assignment_partitions(asg))
                for mid, inst, cid, host, reb, ses, sub, asg in members
            ]))
    return out, versions


def run_commit_scenario(cluster, topic: str, group: str):
    create_topic(cluster, topic, partitions=2)
    for p in range(2):
        produce(cluster, topic, [b"v"] * 5, partition=p)
    m = Member(cluster, group, [topic], commit=False, name="format-client")
    try:
        drive([m], lambda: len(m.records) >= 10, what="10 records")
        m.consumer.commit(offsets=[TopicPartition(topic, 0, 3, metadata="meta-0", leader_epoch=0),
                                   TopicPartition(topic, 1, 5, metadata="")], asynchronous=False)
    finally:
        m.close()
    deadline = time.monotonic() + 20
    while True:  # the group's "now empty" record is written after the LeaveGroup answer
        records, partitions = offsets_topic_records(cluster, group)
        found, versions = normalized(records)
        if found and found[-1][0] == "group" and found[-1][4] == 2 or time.monotonic() > deadline:
            return records, partitions, found, versions


def expected(topic: str):
    member = ("member-0", None, "format-client", "/127.0.0.1", 300000, 10000, [topic], [(topic, 0), (topic, 1)])
    # confluent-kafka (librdkafka) sends commit metadata with its C string's NUL byte.
    return [
        ("group", 2, 3, "", 0, None, None, []),  # the group as created by the first JoinGroup
        ("group", 2, 3, "consumer", 1, "range", "member-0", [member]),  # generation 1, after SyncGroup
        ("offset", 1, VALUE_VERSION, topic, 0, 3, 0, "meta-0\x00"),
        ("offset", 1, VALUE_VERSION, topic, 1, 5, -1, "\x00"),
        ("group", 2, 3, "consumer", 2, None, None, []),  # empty again after the LeaveGroup
    ]


def check(cluster, topic, group, offset_value_versions):
    records, partitions, found, versions = run_commit_scenario(cluster, topic, group)
    assert found == expected(topic)
    assert versions <= offset_value_versions
    assert {p for p, _, _ in records} == {coordinator_partition(group, partitions)}


def test_engine_writes_kafkas_record_formats(engine):
    # OffsetCommitValue v3, what Kafka 2.1–4.0 write and lag tools read (see PROTOCOL_NOTES.md).
    check(engine, "fmt-topic", "fmt-group", {3})


@pytest.mark.kafka
def test_apache_kafka_writes_the_same_records(apache_kafka):
    # Kafka 4.1 writes OffsetCommitValue v4 (the same fields, flexible encoding); earlier ones v3.
    check(apache_kafka, "fmt-topic", "fmt-group", {3, 4})


def test_group_whose_hash_is_integer_min_value_lives_in_partition_zero(engine):
    # Java: "polygenelubricants".hashCode() == Integer.MIN_VALUE; Kafka's Utils.abs makes it 0.
    assert java_hash("polygenelubricants") == -(2**31)
    records, partitions, found, _ = run_commit_scenario(engine, "fmt-minvalue", "polygenelubricants")
    assert found and {p for p, _, _ in records} == {0}
