"""Scenario helpers for group tests: consumers that record what they were given and read.

Several confluent-kafka consumers are driven from one thread, round-robin (`drive`):
each poll runs that consumer's rebalance callbacks; librdkafka heartbeats in its own
threads. Works against the engine and against Apache Kafka alike.
"""

from __future__ import annotations

import struct
import threading
import time
from collections import Counter

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaError, KafkaException, TopicPartition
from confluent_kafka.admin import AdminClient

from tests.engine.helpers import produce

FAST_GROUP_CONFIG = {
    "session.timeout.ms": 10000,
    "heartbeat.interval.ms": 300,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "topic.metadata.refresh.interval.ms": 1000,
}


# KIP-848 members (group.protocol=consumer): the broker sets the session timeout and heartbeat
# interval, and assigns partitions itself, so the client may not configure them.
CONSUMER_PROTOCOL_CONFIG = {
    "group.protocol": "consumer",
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "topic.metadata.refresh.interval.ms": 1000,
}


class Member:
    """One group member: its assignment as the callbacks told it, and the records it read.
    `protocol="consumer"` makes it a KIP-848 member (incremental assignments)."""

    def __init__(self, cluster, group: str, topics: list[str], commit: bool = True, name: str = "",
                 protocol: str = "classic", **config):
        self.name = name or f"member-{id(self):x}"
        self.commit_each_batch = commit
        self.assigned: set[tuple[str, int]] = set()
        self.assign_events: list[list[tuple[str, int]]] = []
        self.revoke_events: list[list[tuple[str, int]]] = []
        self.records: list[tuple[str, int, int, bytes]] = []  # topic, partition, offset, value
        base = CONSUMER_PROTOCOL_CONFIG if protocol == "consumer" else FAST_GROUP_CONFIG
        self.consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group,
                                  "client.id": self.name, **base, **config})
        self.consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke,
                                on_lost=self._on_revoke)
        self.closed = False
        self.cooperative = protocol == "consumer" or "cooperative" in str(config.get("partition.assignment.strategy", ""))

    def _on_assign(self, consumer, partitions):
        got = sorted((p.topic, p.partition) for p in partitions)
        self.assign_events.append(got)
        self.assigned |= set(got)

    def _on_revoke(self, consumer, partitions):
        gone = sorted((p.topic, p.partition) for p in partitions)
        self.revoke_events.append(gone)
        if self.cooperative:
            self.assigned -= set(gone)
        else:
            self.assigned.clear()

    def poll(self, timeout: float = 0.05) -> int:
        messages = self.consumer.consume(num_messages=500, timeout=timeout)
        n = 0
        for msg in messages:
            if msg.error():
                if msg.error().code() == KafkaError._PARTITION_EOF:
                    continue
                raise KafkaException(msg.error())
            self.records.append((msg.topic(), msg.partition(), msg.offset(), msg.value()))
            n += 1
        if n and self.commit_each_batch:
            self.commit()
        return n

    def commit(self) -> bool:
        """Commit what was read (stored offsets); a commit refused by a rebalance is fine:
        the records come again to whoever owns the partition next (never skipped)."""
        try:
            self.consumer.commit(asynchronous=False)
            return True
        except KafkaException as exc:
            code = exc.args[0].code()
            if code in (KafkaError._NO_OFFSET, KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION,
                        KafkaError.UNKNOWN_MEMBER_ID, KafkaError._STATE, KafkaError._ASSIGNMENT_LOST,
                        KafkaError.STALE_MEMBER_EPOCH, KafkaError.FENCED_MEMBER_EPOCH):  # KIP-848 members
                return False
            raise

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.consumer.close()

    def values(self) -> list[bytes]:
        return [r[3] for r in self.records]


class BackgroundProducer:
    """Writes numbered records ("topic:partition:round") to every partition of a topic, a round
    every 20 ms, from its own thread while members rebalance; `stop` gives back all it wrote."""

    def __init__(self, cluster, topic: str, partitions: int):
        self.cluster, self.topic, self.partitions = cluster, topic, partitions
        self._produced: set[bytes] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> set[bytes]:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(30)
        with self._lock:
            return set(self._produced)

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            batch = [f"{self.topic}:{p}:{i}".encode() for p in range(self.partitions)]
            for p, value in enumerate(batch):
                produce(self.cluster, self.topic, [value], partition=p)
            with self._lock:
                self._produced.update(batch)
            i += 1
            time.sleep(0.02)


def produce_numbered(cluster, topic: str, partitions: int, count: int, start: int = 0) -> set[bytes]:
    """`count` numbered values ("topic:partition:i", i from `start`) to each partition; all of them."""
    values = set()
    for p in range(partitions):
        batch = [f"{topic}:{p}:{i}".encode() for i in range(start, start + count)]
        produce(cluster, topic, batch, partition=p)
        values.update(batch)
    return values


def per_partition(values: set[bytes], partitions: int) -> dict[int, int]:
    """How many numbered values (BackgroundProducer's, produce_numbered's) went to each partition."""
    counts = Counter(int(v.split(b":")[1]) for v in values)
    return {p: counts[p] for p in range(partitions)}


def drive(members: list[Member], until, timeout: float = 60.0, what: str = "condition") -> None:
    """Poll every open member in turn until `until()` holds."""
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            state = {m.name: sorted(m.assigned) for m in members if not m.closed}
            raise TimeoutError(f"timed out waiting for {what}; assignments: {state}")
        for m in members:
            if not m.closed:
                m.poll()


def balanced(members: list[Member], topic: str, partitions: int) -> bool:
    """Every partition owned by exactly one open member, and shares differ by at most one."""
    live = [m for m in members if not m.closed]
    owned = Counter(tp for m in live for tp in m.assigned)
    if set(owned) != {(topic, p) for p in range(partitions)} or any(c != 1 for c in owned.values()):
        return False
    sizes = [len(m.assigned) for m in live]
    return max(sizes) - min(sizes) <= 1


def group_offsets(cluster, group: str) -> dict[int, int]:
    """Every committed offset of `group`, as an admin client lists them (partition -> offset)."""
    client = AdminClient({"bootstrap.servers": cluster.bootstrap})
    result = client.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group].result(timeout=30)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def committed(cluster, group: str, topic: str, partitions: int) -> dict[int, int]:
    c = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        got = c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=15)
        return {tp.partition: tp.offset for tp in got}
    finally:
        c.close()


def subscription_topics(data: bytes) -> list[str]:
    """The topics of a consumer protocol subscription (its v0 prefix)."""
    (count,) = struct.unpack_from(">i", data, 2)
    pos, out = 6, []
    for _ in range(count):
        (n,) = struct.unpack_from(">h", data, pos)
        out.append(data[pos + 2 : pos + 2 + n].decode())
        pos += 2 + n
    return out


def assignment_partitions(data: bytes) -> list[tuple[str, int]]:
    """The partitions of a consumer protocol assignment (version, [topic, [partition]])."""
    if not data:
        return []
    (count,) = struct.unpack_from(">i", data, 2)
    pos, out = 6, []
    for _ in range(count):
        (n,) = struct.unpack_from(">h", data, pos)
        topic = data[pos + 2 : pos + 2 + n].decode()
        pos += 2 + n
        (k,) = struct.unpack_from(">i", data, pos)
        pos += 4
        for _ in range(k):
            out.append((topic, struct.unpack_from(">i", data, pos)[0]))
            pos += 4
    return sorted(out)
