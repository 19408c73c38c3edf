"""Kafka transactions as a client sees them, through confluent-kafka's transactional producer.

A transactional producer registers its transactional.id with a coordinator (InitProducerId), names
the partitions (AddPartitionsToTxn) and the consumer group (AddOffsetsToTxn, TxnOffsetCommit) a
transaction touches, and ends it with EndTxn; the coordinator then writes a commit or abort marker
into each of those partitions (WriteTxnMarkers). A marker takes an offset. A partition's last stable
offset (LSO) stays at the first record of its oldest open transaction: read_committed consumers get
nothing at or past it, and skip the records of aborted transactions below it, which read_uncommitted
consumers still get. Group offsets sent in a transaction count only once it commits.

The scenarios check that from the outside: committed against aborted records, a reader held back
by an open transaction (Fetch and ListOffsets), consume-transform-produce with the group's offsets,
fencing by a newer producer with the same transactional.id, the coordinator aborting a transaction
that outlives its timeout, the admin view of a transaction, and the offset each marker takes.

Kafka writes the markers after EndTxn has returned, so right after commit_transaction() a partition
can still look unstable: tests wait until its LSO is its high watermark (``_wait_stable``) before
reading it to the end. abort_transaction() drops records the producer has not sent yet, so a
transaction that is to leave aborted records in the log is flushed first (``_transaction``).
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterable

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    ConsumerGroupTopicPartitions,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import OffsetSpec
from kafka import TopicPartition as KafkaPythonTopicPartition
from kafka.admin import KafkaAdminClient, TransactionState
from kafka.errors import TransactionalIdNotFoundError

from tests.engine.helpers import admin, create_topic, produce

COMMITTED, UNCOMMITTED = "read_committed", "read_uncommitted"
# librdkafka's smallest transaction.timeout.ms. The coordinator aborts a transaction older than that at
# its next look for timed-out ones, every transaction.abort.timed.out.transaction.cleanup.interval.ms:
# 500 in the test clusters (tests/support), 10 s by default, which the deadline below still allows.
SHORT_TXN_TIMEOUT_MS = 1000
ABORT_DEADLINE_S = 30.0

Records = dict[int, list[tuple[int, bytes]]]  # partition -> (offset, value) in the order delivered


def _name(kind: str) -> str:
    return f"txn-{kind}-{uuid.uuid4().hex[:8]}"


def _transactional_producer(cluster, transactional_id: str | None = None, **config) -> Producer:
    producer = Producer({"bootstrap.servers": cluster.bootstrap, "linger.ms": 5,
                         "transactional.id": transactional_id or _name("id"), **config})
    producer.init_transactions(30)
    return producer


def _transaction(producer: Producer, topic: str, values: dict[int, list[bytes]], end: str | None) -> None:
    """One transaction writing ``values`` (partition -> values), all sent, then ended by
    ``end`` ("commit" or "abort") or left open (None)."""
    producer.begin_transaction()
    for partition, batch in values.items():
        for value in batch:
            producer.produce(topic, value=value, partition=partition)
    assert producer.flush(30) == 0, "records still unsent"
    if end == "commit":
        producer.commit_transaction(30)
    elif end == "abort":
        producer.abort_transaction(30)
    else:
        assert end is None, end


def _values(label: str, partitions: Iterable[int], count: int) -> dict[int, list[bytes]]:
    return {p: [f"{label}-{p}-{i}".encode() for i in range(count)] for p in partitions}


def _latest(cluster, topic: str, partitions: Iterable[int], isolation: IsolationLevel) -> dict[int, int]:
    """ListOffsets latest: the last stable offset (READ_COMMITTED) or the high watermark (READ_UNCOMMITTED)."""
    client = admin(cluster)  # must outlive the futures
    futures = client.list_offsets({TopicPartition(topic, p): OffsetSpec.latest() for p in partitions},
                                  isolation_level=isolation, request_timeout=10)
    return {tp.partition: future.result(15).offset for tp, future in futures.items()}


def _wait_until(condition: Callable[[], bool], what: Callable[[], str], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what()}")
        time.sleep(0.05)


def _wait_stable(cluster, topic: str, partitions: Iterable[int]) -> dict[int, int]:
    """Wait until no transaction is open or unmarked on the partitions (LSO == high watermark);
    return their ends."""
    partitions = list(partitions)
    seen: list[tuple[dict, dict]] = []

    def stable() -> bool:
        seen.append((_latest(cluster, topic, partitions, IsolationLevel.READ_COMMITTED),
                     _latest(cluster, topic, partitions, IsolationLevel.READ_UNCOMMITTED)))
        return seen[-1][0] == seen[-1][1]

    _wait_until(stable, lambda: f"{topic} to be stable (last stable offsets, high watermarks: {seen[-1]})")
    return seen[-1][1]


def _reader(cluster, isolation: str, topic: str, partitions: Iterable[int]) -> Consumer:
    """A consumer assigned ``partitions`` from their start, reporting each partition's end (EOF)."""
    consumer = Consumer({"bootstrap.servers": cluster.bootstrap, "group.id": _name("reader"),
                         "enable.auto.commit": False, "isolation.level": isolation, "enable.partition.eof": True,
                         "fetch.wait.max.ms": 50})  # the end shows as an empty fetch: soon, not after 500 ms
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
    return consumer


def _poll(consumer: Consumer, until: Callable[[Records, set[int]], bool], what: str,
          timeout: float = 30.0) -> Records:
    """Poll until ``until(records so far, partitions at their end)``. A read_committed consumer's end is
    its partition's last stable offset, a read_uncommitted one's its high watermark."""
    records: Records = {tp.partition: [] for tp in consumer.assignment()}  # a subscriber's may come later
    at_end: set[int] = set()
    deadline = time.monotonic() + timeout
    while not until(records, at_end):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; got {records}")
        msg = consumer.poll(0.1)
        if msg is None:
            continue
        if msg.error() is not None:
            if msg.error().code() != KafkaError._PARTITION_EOF:
                raise KafkaException(msg.error())
            at_end.add(msg.partition())
            continue
        at_end.discard(msg.partition())
        records.setdefault(msg.partition(), []).append((msg.offset(), msg.value()))
    return records


def _poll_to_end(consumer: Consumer) -> Records:
    return _poll(consumer, lambda records, at_end: at_end == set(records), "every partition's end")


def _read_to_end(cluster, topic: str, partitions: Iterable[int], isolation: str) -> Records:
    consumer = _reader(cluster, isolation, topic, partitions)
    try:
        return _poll_to_end(consumer)
    finally:
        consumer.close()


def _kafka_error(failure: pytest.ExceptionInfo[KafkaException]) -> KafkaError:
    error = failure.value.args[0]
    assert isinstance(error, KafkaError), failure.value
    return error


def test_read_committed_gets_the_committed_records_and_skips_the_aborted_ones(three_brokers):
    topic, partitions = _name("mixed"), range(3)
    create_topic(three_brokers, topic, partitions=3, replication_factor=3)
    producer = _transactional_producer(three_brokers)
    first, dropped, second = (_values(label, partitions, 2) for label in ("first", "dropped", "second"))
    _transaction(producer, topic, first, "commit")
    _transaction(producer, topic, dropped, "abort")
    _transaction(producer, topic, second, "commit")

    # each transaction: 2 records then its marker, in every partition
    assert _wait_stable(three_brokers, topic, partitions) == {p: 9 for p in partitions}
    assert _read_to_end(three_brokers, topic, partitions, COMMITTED) == {
        p: [(0, first[p][0]), (1, first[p][1]), (6, second[p][0]), (7, second[p][1])] for p in partitions}
    # the aborted records are in the log: read_uncommitted gets them
    assert _read_to_end(three_brokers, topic, partitions, UNCOMMITTED) == {
        p: [(0, first[p][0]), (1, first[p][1]), (3, dropped[p][0]), (4, dropped[p][1]),
            (6, second[p][0]), (7, second[p][1])] for p in partitions}


def test_an_open_transaction_holds_back_read_committed_consumers(single_broker):
    topic = _name("open")
    create_topic(single_broker, topic)
    producer = _transactional_producer(single_broker)
    _transaction(producer, topic, {0: [b"before-0", b"before-1"]}, "commit")  # offsets 0, 1; marker 2
    _transaction(producer, topic, {0: [b"open-0", b"open-1", b"open-2"]}, None)  # offsets 3..5, open

    def latest(isolation: IsolationLevel) -> int:
        return _latest(single_broker, topic, [0], isolation)[0]

    # ListOffsets: read_committed's end is the open transaction's first offset (once the first one's
    # marker is in), read_uncommitted's the high watermark past its records
    _wait_until(lambda: latest(IsolationLevel.READ_COMMITTED) == 3,
                lambda: f"the last stable offset to be 3, not {latest(IsolationLevel.READ_COMMITTED)}")
    assert latest(IsolationLevel.READ_UNCOMMITTED) == 6

    held = _reader(single_broker, COMMITTED, topic, [0])  # stays assigned across the commit
    try:
        assert _poll_to_end(held) == {0: [(0, b"before-0"), (1, b"before-1")]}
        assert held.position([TopicPartition(topic, 0)])[0].offset == 3
        # its fetches reported the high watermark past the open records: withheld, not missing
        assert held.get_watermark_offsets(TopicPartition(topic, 0), cached=True)[1] == 6
        assert _read_to_end(single_broker, topic, [0], UNCOMMITTED) == {
            0: [(0, b"before-0"), (1, b"before-1"), (3, b"open-0"), (4, b"open-1"), (5, b"open-2")]}

        producer.commit_transaction(30)
        assert _poll_to_end(held) == {0: [(3, b"open-0"), (4, b"open-1"), (5, b"open-2")]}
        assert held.position([TopicPartition(topic, 0)])[0].offset == 7  # past the commit marker
    finally:
        held.close()
    assert _wait_stable(single_broker, topic, [0]) == {0: 7}


def test_the_last_stable_offset_stays_at_an_open_transaction_whose_start_was_deleted(single_broker):
    """DeleteRecords past the first record of an open transaction: Kafka's last stable offset
    stays that record's offset, below the new log start, until the transaction ends."""
    topic = _name("deleted")
    create_topic(single_broker, topic)
    produce(single_broker, topic, [b"plain-0", b"plain-1"], partition=0)  # offsets 0, 1
    producer = _transactional_producer(single_broker)
    _transaction(producer, topic, {0: [b"open-0", b"open-1", b"open-2"]}, None)  # offsets 2..4, open
    _wait_until(lambda: _latest(single_broker, topic, [0], IsolationLevel.READ_COMMITTED)[0] == 2,
                lambda: "the last stable offset to be the open transaction's first, 2")
    client = admin(single_broker)  # must outlive the futures
    [deleted] = client.delete_records([TopicPartition(topic, 0, 3)]).values()
    assert deleted.result(15).low_watermark == 3
    assert _latest(single_broker, topic, [0], IsolationLevel.READ_COMMITTED) == {0: 2}
    producer.commit_transaction(30)
    assert _wait_stable(single_broker, topic, [0]) == {0: 6}
    assert _read_to_end(single_broker, topic, [0], COMMITTED) == {0: [(3, b"open-1"), (4, b"open-2")]}


def test_a_committed_transaction_of_n_records_ends_its_partition_at_n_plus_one(single_broker):
    topic, count = _name("marker"), 5
    create_topic(single_broker, topic)
    producer = _transactional_producer(single_broker)
    _transaction(producer, topic, _values("r", [0], count), "commit")

    assert _wait_stable(single_broker, topic, [0]) == {0: count + 1}  # the commit marker is offset 5
    probe = Consumer({"bootstrap.servers": single_broker.bootstrap, "group.id": _name("probe"),
                      "isolation.level": UNCOMMITTED})
    try:
        assert probe.get_watermark_offsets(TopicPartition(topic, 0), timeout=10) == (0, count + 1)
    finally:
        probe.close()
    assert _read_to_end(single_broker, topic, [0], COMMITTED) == {
        0: [(i, f"r-0-{i}".encode()) for i in range(count)]}
    # the next record, outside any transaction, comes after the marker
    assert [m.offset() for m in produce(single_broker, topic, [b"plain"], partition=0)] == [count + 1]


def test_consume_transform_produce_commits_the_groups_offsets_with_the_output(three_brokers):
    source, sink, group = _name("source"), _name("sink"), _name("group")
    create_topic(three_brokers, source, partitions=2, replication_factor=3)
    create_topic(three_brokers, sink, partitions=2, replication_factor=3)
    first_round, second_round = {0: [b"a0", b"a1"], 1: [b"b0"]}, {0: [b"a2", b"a3"], 1: [b"b1", b"b2"]}
    partitions = list(first_round)
    producer = _transactional_producer(three_brokers)
    consumer = Consumer({"bootstrap.servers": three_brokers.bootstrap, "group.id": group,
                         "enable.auto.commit": False, "auto.offset.reset": "earliest", "isolation.level": COMMITTED})

    def feed(values: dict[int, list[bytes]]) -> None:
        for partition, batch in values.items():
            produce(three_brokers, source, batch, partition=partition)

    def process(count: int, end: str) -> None:
        """Consume ``count`` records; write each upper-cased to the sink's same partition in a
        transaction that also commits the consumer's position for the group; end it with ``end``."""
        consumed = _poll(consumer, lambda records, _: sum(map(len, records.values())) == count,
                         f"{count} input records")
        producer.begin_transaction()
        for partition, records in consumed.items():
            for _offset, value in records:
                producer.produce(sink, value=value.upper(), partition=partition)
        producer.send_offsets_to_transaction(consumer.position(consumer.assignment()),
                                             consumer.consumer_group_metadata(), 30)
        assert producer.flush(30) == 0, "records still unsent"
        producer.commit_transaction(30) if end == "commit" else producer.abort_transaction(30)

    def group_offsets() -> dict[int, int]:
        client = admin(three_brokers)  # must outlive the future
        request = ConsumerGroupTopicPartitions(group, [TopicPartition(source, p) for p in partitions])
        listed = client.list_consumer_group_offsets([request])[group].result(15)
        return {tp.partition: tp.offset for tp in listed.topic_partitions}

    def wait_group_offsets(expected: dict[int, int]) -> None:
        _wait_until(lambda: group_offsets() == expected, lambda: f"group offsets {expected}: {group_offsets()}")

    try:
        consumer.subscribe([source])
        feed(first_round)
        process(3, "commit")
        wait_group_offsets({0: 2, 1: 1})

        # aborted: neither the output nor the offsets count
        feed(second_round)
        process(4, "abort")
        _wait_stable(three_brokers, sink, partitions)
        assert _values_of(_read_to_end(three_brokers, sink, partitions, COMMITTED)) == {
            0: [b"A0", b"A1"], 1: [b"B0"]}
        assert group_offsets() == {0: 2, 1: 1}

        # as an application does after an abort: back to the group's offsets, and the same round again
        for tp in consumer.committed([TopicPartition(source, p) for p in partitions], timeout=15):
            consumer.seek(tp)
        process(4, "commit")
        wait_group_offsets({0: 4, 1: 3})
    finally:
        consumer.close()
    _wait_stable(three_brokers, sink, partitions)
    assert _values_of(_read_to_end(three_brokers, sink, partitions, COMMITTED)) == {
        0: [b"A0", b"A1", b"A2", b"A3"], 1: [b"B0", b"B1", b"B2"]}
    assert _values_of(_read_to_end(three_brokers, sink, partitions, UNCOMMITTED)) == {
        0: [b"A0", b"A1", b"A2", b"A3", b"A2", b"A3"], 1: [b"B0", b"B1", b"B2", b"B1", b"B2"]}


def _values_of(records: Records) -> dict[int, list[bytes]]:
    return {p: [value for _offset, value in got] for p, got in records.items()}


def test_a_new_producer_with_the_same_transactional_id_fences_the_old_one(single_broker):
    topic, txn_id = _name("fence"), _name("id")
    create_topic(single_broker, topic)
    old = _transactional_producer(single_broker, txn_id)
    _transaction(old, topic, {0: [b"old-open"]}, None)  # offset 0

    new = _transactional_producer(single_broker, txn_id)
    # the new producer's InitProducerId bumped the epoch and aborted the old one's transaction
    assert _wait_stable(single_broker, topic, [0]) == {0: 2}  # old-open, abort marker
    assert _read_to_end(single_broker, topic, [0], COMMITTED) == {0: []}

    old.produce(topic, value=b"old-late", partition=0)  # refused: an old epoch
    with pytest.raises(KafkaException) as failure:
        old.commit_transaction(30)
    error = _kafka_error(failure)
    assert (error.fatal(), error.code()) == (True, KafkaError._FENCED), error

    _transaction(new, topic, {0: [b"new"]}, "commit")
    assert _wait_stable(single_broker, topic, [0]) == {0: 4}
    assert _read_to_end(single_broker, topic, [0], COMMITTED) == {0: [(2, b"new")]}
    assert _read_to_end(single_broker, topic, [0], UNCOMMITTED) == {0: [(0, b"old-open"), (2, b"new")]}


def test_the_coordinator_aborts_a_transaction_that_outlives_its_timeout(single_broker):
    topic = _name("timeout")
    create_topic(single_broker, topic)
    stalled = _transactional_producer(single_broker, **{"transaction.timeout.ms": SHORT_TXN_TIMEOUT_MS})
    other = _transactional_producer(single_broker)
    _transaction(stalled, topic, {0: [b"stalled"]}, None)  # offset 0, never ended by its producer
    _transaction(other, topic, {0: [b"after"]}, "commit")

    # held back by the stalled transaction until the coordinator aborts it
    reader = _reader(single_broker, COMMITTED, topic, [0])
    try:
        got = _poll(reader, lambda records, _: bool(records[0]), "the record after the stalled transaction",
                    timeout=ABORT_DEADLINE_S)
    finally:
        reader.close()
    assert _wait_stable(single_broker, topic, [0]) == {0: 4}  # two records, a commit and an abort marker
    in_log = _read_to_end(single_broker, topic, [0], UNCOMMITTED)
    assert [value for _offset, value in in_log[0]] == [b"stalled", b"after"]
    # 'after' is at 1, its commit marker at 2, the abort marker at 3 (unless the abort came first)
    assert got == {0: [in_log[0][1]]}

    # aborting it bumped the producer's epoch: its own commit is refused as from a fenced producer
    with pytest.raises(KafkaException) as failure:
        stalled.commit_transaction(30)
    error = _kafka_error(failure)
    assert (error.fatal(), error.code()) == (True, KafkaError._FENCED), error


def test_admin_clients_show_an_open_transaction_then_its_commit(single_broker):
    topic, txn_id = _name("admin"), _name("id")
    create_topic(single_broker, topic, partitions=2)
    produce(single_broker, topic, [b"plain-0", b"plain-1"], partition=0)  # not idempotent: no producer state
    producer = _transactional_producer(single_broker, txn_id, **{"transaction.timeout.ms": 20000})
    _transaction(producer, topic, {0: [b"t0"], 1: [b"t1"]}, None)  # partition 0 from offset 2, 1 from 0
    tps = [KafkaPythonTopicPartition(topic, p) for p in (0, 1)]

    client = KafkaAdminClient(bootstrap_servers=single_broker.bootstrap)
    try:
        def described():
            return client.describe_transactions([txn_id])[txn_id]

        def listed(state: str) -> list[tuple[str, int]]:
            by_broker = client.list_transactions(state_filters=[state],
                                                 transactional_id_pattern=re.escape(txn_id))
            return [(t.transactional_id, t.producer_id) for listings in by_broker.values() for t in listings]

        def transaction_starts() -> dict[int, list[tuple[int, int]]]:
            return {tp.partition: [(p.producer_id, p.current_transaction_start_offset)
                                   for p in state.active_producers]
                    for tp, state in client.describe_producers(tps).items()}

        open_txn = described()
        producer_id = open_txn.producer_id
        assert (open_txn.state, open_txn.topic_partitions, open_txn.transaction_timeout_ms) == (
            TransactionState.ONGOING, set(tps), 20000)
        assert listed("Ongoing") == [(txn_id, producer_id)]
        assert transaction_starts() == {0: [(producer_id, 2)], 1: [(producer_id, 0)]}

        producer.commit_transaction(30)
        # CompleteCommit once every marker is written (PrepareCommit until then)
        _wait_until(lambda: described().state == TransactionState.COMPLETE_COMMIT,
                    lambda: f"the transaction to complete: {described()}")
        done = described()
        assert (done.producer_id, done.topic_partitions) == (producer_id, set())
        assert listed("Ongoing") == []
        assert listed("CompleteCommit") == [(txn_id, producer_id)]
        assert transaction_starts() == {0: [(producer_id, -1)], 1: [(producer_id, -1)]}
    finally:
        client.close()


def test_an_idle_transactional_id_expires_and_stays_forgotten_after_a_restart(make_engine):
    """transactional.id.expiration.ms: an id with no open transaction and no change for that
    long is forgotten (a tombstone in __transaction_state, so a restarted coordinator does not
    bring it back); the next producer with it starts afresh. Engine only: Kafka's cleanup interval
    is static, and a private Kafka cluster costs more than this check is worth."""
    cluster = make_engine(settings={"group.initial.rebalance.delay.ms": "0",
                                    "transactional.id.expiration.ms": "1500",
                                    "transaction.remove.expired.transaction.cleanup.interval.ms": "200"})
    topic, txn_id = _name("expiring"), _name("id")
    create_topic(cluster, topic)
    producer = _transactional_producer(cluster, txn_id)
    _transaction(producer, topic, {0: [b"once"]}, "commit")
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        assert client.describe_transactions([txn_id])[txn_id].producer_id >= 0

        def listed() -> list:
            return [t for ts in client.list_transactions(transactional_id_pattern=re.escape(txn_id)).values()
                    for t in ts]

        _wait_until(lambda: not listed(), lambda: f"{txn_id} to expire; listed: {listed()}", timeout=30)
    finally:
        client.close()
    cluster.stop(1)
    cluster.start(1)
    client = KafkaAdminClient(bootstrap_servers=cluster.bootstrap)
    try:
        with pytest.raises(TransactionalIdNotFoundError):
            client.describe_transactions([txn_id])
    finally:
        client.close()
    _transaction(_transactional_producer(cluster, txn_id), topic, {0: [b"again"]}, "commit")
    assert _read_to_end(cluster, topic, [0], COMMITTED) == {0: [(0, b"once"), (2, b"again")]}
