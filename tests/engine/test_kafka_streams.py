"""Kafka Streams (the Java library) against the engine, and against Kafka for reference.

A word count (tests/support/java/WordCount.java) exercises what a stream processor asks of a
cluster beyond a plain producer and consumer: its admin client creates a repartition topic and a
compacted changelog topic with their configs, its group commits offsets, it purges consumed
repartition records with DeleteRecords, and after a restart it rebuilds its (in-memory) counts by
reading the changelog from the beginning.

Its exactly-once variant (processing.guarantee exactly_once_v2) writes counts, changelog and
repartition records and commits its input offsets in transactions: killed with SIGKILL inside one and
restarted, it must leave counts that a read_committed reader sees go up one by one, with none
repeated, where a read_uncommitted reader also sees the ones the killed transaction wrote.
"""

from __future__ import annotations

import signal
import struct
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, IsolationLevel, Producer, TopicPartition
from confluent_kafka.admin import ConfigResource, OffsetSpec

from tests.engine.helpers import admin, create_topic, produce
from tests.support.kafka_streams import WordCountApp

PARTITIONS = 3
FIRST = [f"the quick brown fox {i % 7} jumps over the lazy dog" for i in range(300)]
SECOND = [f"the dog sleeps {i % 5}" for i in range(200)]


def _words(lines: list[str]) -> Counter[str]:
    return Counter(w for line in lines for w in line.lower().split())


def _read_counts(cluster, topic: str, expected: Counter[str], app: WordCountApp, timeout: float = 90.0) -> dict:
    """Read the count topic from the start until each word's latest count is the expected one."""
    histories = _count_histories(cluster, topic, "read_committed", expected, app, timeout)
    return {word: counts[-1] for word, counts in histories.items()}


def _non_default_configs(cluster, topic: str) -> dict[str, str]:
    resource = ConfigResource("topic", topic)
    client = admin(cluster)  # must outlive the future
    configs = client.describe_configs([resource])[resource].result(timeout=15)
    return {name: entry.value for name, entry in configs.items() if not entry.is_default}


def _offsets(cluster, topic: str, which: int) -> dict[int, int]:
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": "offsets-probe"})
    try:
        return {p: consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[which]
                for p in range(PARTITIONS)}
    finally:
        consumer.close()


def _wait_until(predicate, what: str | Callable[[], str], app: WordCountApp, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        app.check()
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what} did not happen within {timeout:.0f}s\n"
                                 f"{app.output()}")
        time.sleep(0.2)


def test_kafka_streams_word_count_survives_a_restart(single_broker, tmp_path):
    cluster = single_broker
    app_id = f"wc-{uuid.uuid4().hex[:8]}"
    lines, counts = f"{app_id}-lines", f"{app_id}-counts"
    repartition, changelog = f"{app_id}-counts-repartition", f"{app_id}-counts-changelog"
    create_topic(cluster, lines, partitions=PARTITIONS)
    create_topic(cluster, counts, partitions=PARTITIONS)
    produce(cluster, lines, FIRST, key=b"k")  # one key: every line lands in the same partition
    for p in range(PARTITIONS):  # keyless, in every partition (Streams commits only partitions it read)
        produce(cluster, lines, FIRST[p:50:PARTITIONS], partition=p)
    expected = _words(FIRST + FIRST[:50])

    with WordCountApp(cluster.bootstrap, lines, counts, app_id, tmp_path / "state-1") as app:
        assert _read_counts(cluster, counts, expected, app) == expected
        # the internal topics Streams created, with the configs it asked for
        assert _non_default_configs(cluster, changelog)["cleanup.policy"] == "compact"
        repartition_configs = _non_default_configs(cluster, repartition)
        assert repartition_configs["cleanup.policy"] == "delete"
        assert repartition_configs["retention.ms"] == "-1"
        # consumed repartition records are purged (DeleteRecords) once their offsets are committed
        _wait_until(lambda: sum(_offsets(cluster, repartition, 0).values()) > 0, "the repartition purge", app)
        line_ends = _offsets(cluster, lines, 1)

        def committed() -> dict[int, int]:
            request = ConsumerGroupTopicPartitions(app_id, [TopicPartition(lines, p) for p in range(PARTITIONS)])
            client = admin(cluster)  # must outlive the future
            got = client.list_consumer_group_offsets([request])[app_id].result(timeout=15)
            return {tp.partition: tp.offset for tp in got.topic_partitions}

        _wait_until(lambda: committed() == line_ends,
                    lambda: f"committing every input line ({committed()} != {line_ends})", app)
    assert app.closed_state == "NOT_RUNNING", app.output()  # closed cleanly on SIGTERM

    # a fresh state directory: the counts can only come back from the changelog topic
    produce(cluster, lines, SECOND)
    expected += _words(SECOND)
    with WordCountApp(cluster.bootstrap, lines, counts, app_id, tmp_path / "state-2") as app:
        assert _read_counts(cluster, counts, expected, app) == expected
    assert app.closed_state == "NOT_RUNNING", app.output()


class _LineFeed(threading.Thread):
    """Writes lines into a topic, three every 20 ms, from start() until stop() (which returns them all)."""

    def __init__(self, cluster, topic: str):
        super().__init__(name="line-feed", daemon=True)
        self._topic = topic
        self._producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5})
        self._stopping = threading.Event()
        self._errors: list = []
        self.lines: list[str] = []

    def run(self) -> None:
        while not self._stopping.wait(0.02):
            for _ in range(3):
                line = f"the stream {len(self.lines) % 11} flows {len(self.lines) % 3}"
                self._producer.produce(self._topic, value=line.encode(),
                                       on_delivery=lambda err, _msg: err and self._errors.append(err))
                self.lines.append(line)
            self._producer.poll(0)

    def stop(self) -> list[str]:
        self._stopping.set()
        self.join(10)
        assert self._producer.flush(30) == 0 and not self._errors, self._errors
        return self.lines


def _open_transaction_in(cluster, topic: str) -> bool:
    """Whether some partition of ``topic`` holds uncommitted records after committed ones
    (0 < last stable offset < high watermark)."""
    client = admin(cluster)  # must outlive the futures
    request = {TopicPartition(topic, p): OffsetSpec.latest() for p in range(PARTITIONS)}
    stable, high = ({tp.partition: f.result(15).offset
                     for tp, f in client.list_offsets(request, isolation_level=level).items()}
                    for level in (IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED))
    return any(0 < stable[p] < high[p] for p in range(PARTITIONS))


def _kill_inside_a_transaction(cluster, app: WordCountApp, counts: str) -> None:
    """SIGKILL the app while a transaction of its has written counts it has not committed."""
    for _attempt in range(10):
        _wait_until(lambda: _open_transaction_in(cluster, counts), "an open transaction with counts", app, 60.0)
        app.send_signal(signal.SIGSTOP)
        # a commit the app sent just before it stopped still lands: give it time to, so that the
        # transaction seen open below stays open (the app can start no other)
        time.sleep(0.5)
        if _open_transaction_in(cluster, counts):
            app.kill()
            return
        app.send_signal(signal.SIGCONT)
    raise AssertionError(f"the app committed each transaction seen open before it could be killed\n{app.output()}")


def _count_histories(cluster, topic: str, isolation: str, expected: Counter[str], app: WordCountApp,
                     timeout: float = 60.0) -> dict[str, list[int]]:
    """Every count of every word in ``topic``, in order, as a reader with ``isolation`` gets them
    from the start, read until each word's latest count is the expected one."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": f"check-{uuid.uuid4().hex[:6]}",
                         "enable.auto.commit": False, "isolation.level": isolation})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(PARTITIONS)])
    histories: dict[str, list[int]] = {}
    deadline = time.monotonic() + timeout
    try:
        while {word: counts[-1] for word, counts in histories.items()} != expected:
            app.check()
            if time.monotonic() > deadline:
                raise AssertionError(f"{isolation} counts never reached the expected ones: {histories} "
                                     f"!= {dict(expected)}\n{app.output()}")
            msg = consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            histories.setdefault(msg.key().decode(), []).append(struct.unpack(">q", msg.value())[0])
        return histories
    finally:
        consumer.close()


def test_kafka_streams_exactly_once_word_count_survives_a_kill(single_broker, tmp_path):
    cluster = single_broker
    app_id = f"wc-eos-{uuid.uuid4().hex[:8]}"
    lines, counts = f"{app_id}-lines", f"{app_id}-counts"
    create_topic(cluster, lines, partitions=PARTITIONS)
    create_topic(cluster, counts, partitions=PARTITIONS)
    feed = _LineFeed(cluster, lines)

    def run(state_dir: str) -> WordCountApp:
        return WordCountApp(cluster.bootstrap, lines, counts, app_id, tmp_path / state_dir,
                            processing_guarantee="exactly_once_v2")

    try:
        with run("state-1") as app:
            feed.start()
            _kill_inside_a_transaction(cluster, app, counts)
        # the successor's producer has another transactional.id: the killed one's transaction stays
        # open, holding back read_committed readers (the app's own too), until it times out (3 s)
        with run("state-2") as app:
            app.wait_state("RUNNING")
            expected = _words(feed.stop())
            committed = _count_histories(cluster, counts, "read_committed", expected, app)
            uncommitted = _count_histories(cluster, counts, "read_uncommitted", expected, app)
    finally:
        if feed.is_alive():
            feed.stop()
    # without caching every count goes out: each word's are 1, 2, ... n, none lost, none repeated
    assert {word: seen for word, seen in committed.items() if seen != list(range(1, len(seen) + 1))} == {}
    # the killed transaction's counts are in the log, and the restarted app wrote them again
    assert any(len(set(seen)) < len(seen) for seen in uncommitted.values()), uncommitted
