"""Partition verification (KIP-890 part 1): a transactional batch may only open its producer's
transaction in a partition its coordinator has in that transaction — so a produce request that
arrives after its transaction ended cannot leave a transaction open that nobody will end.

Raw requests (no client sends such batches on purpose), against the engine and Kafka 4.1.1 (whose
transaction.partition.verification.enable is on by default): both must answer the same.
The partition written is led by a broker other than the coordinator, so the leader's question
crosses the network (AddPartitionsToTxn v4).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from confluent_kafka.admin import AdminClient
from kio.schema.add_partitions_to_txn.v3 import request as add_req
from kio.schema.describe_transactions.v0 import request as describe_req
from kio.schema.end_txn.v3 import request as end_req
from kio.schema.find_coordinator.v4 import request as find_req
from kio.schema.init_producer_id.v3 import request as init_req
from kio.schema.produce.v9 import request as produce_req
from kio.static.primitive import i8, i16, i32, i64

from partita.engine.log.records import build_batch
from tests.engine.helpers import create_topic, raw_request

NONE, INVALID_TXN_STATE = 0, 48
RETRIABLE = {14, 15, 16, 51}  # coordinator loading, not available, not coordinator, concurrent transactions


def _until_ok(call, what: str, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        error, result = call()
        if error == NONE:
            return result
        assert error in RETRIABLE and time.monotonic() < deadline, f"{what}: error {error}"
        time.sleep(0.2)


class RawTransaction:
    """One transactional producer, spoken to in raw requests."""

    def __init__(self, cluster, transactional_id: str):
        self.cluster = cluster
        self.id = transactional_id
        self.coordinator = _until_ok(self._find, "FindCoordinator")
        self.producer_id, self.epoch = _until_ok(self._init, "InitProducerId")
        self.sequence = 0

    def _find(self):
        [c] = raw_request(self.cluster.bootstrap.split(",")[0], 10, 4, find_req.FindCoordinatorRequest(
            key_type=i8(1), coordinator_keys=(self.id,))).coordinators
        return int(c.error_code), int(c.node_id)

    def _init(self):
        r = raw_request(self.cluster.address(self.coordinator), 22, 3, init_req.InitProducerIdRequest(
            transactional_id=self.id, transaction_timeout=timedelta(seconds=60)))
        return int(r.error_code), (int(r.producer_id), int(r.producer_epoch))

    def add(self, topic: str, partition: int) -> None:
        def call():
            r = raw_request(self.cluster.address(self.coordinator), 24, 3, add_req.AddPartitionsToTxnRequest(
                v3_and_below_transactional_id=self.id, v3_and_below_producer_id=i64(self.producer_id),
                v3_and_below_producer_epoch=i16(self.epoch),
                v3_and_below_topics=(add_req.AddPartitionsToTxnTopic(name=topic, partitions=(i32(partition),)),)))
            return int(r.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code), None
        _until_ok(call, "AddPartitionsToTxn")

    def end(self, commit: bool) -> None:
        def call():
            r = raw_request(self.cluster.address(self.coordinator), 26, 3, end_req.EndTxnRequest(
                transactional_id=self.id, producer_id=i64(self.producer_id), producer_epoch=i16(self.epoch),
                committed=commit))
            return int(r.error_code), None
        _until_ok(call, "EndTxn")

    def wait_state(self, state: str, timeout: float = 30.0) -> None:
        """Until the coordinator reports `state` (CompleteAbort: every marker is written)."""
        deadline = time.monotonic() + timeout
        while True:
            [found] = raw_request(self.cluster.address(self.coordinator), 65, 0,
                                  describe_req.DescribeTransactionsRequest(transactional_ids=(self.id,))
                                  ).transaction_states
            if found.transaction_state == state:
                return
            assert time.monotonic() < deadline, f"{self.id} is {found.transaction_state}, not {state}"
            time.sleep(0.1)

    def produce(self, leader: int, topic: str, partition: int) -> int:
        """One transactional record with the next sequence; the partition's error code."""
        batch = build_batch([(int(time.time() * 1000), None, b"v")], producer_id=self.producer_id,
                            producer_epoch=self.epoch, base_sequence=self.sequence, transactional=True)
        r = raw_request(self.cluster.address(leader), 0, 9, produce_req.ProduceRequest(
            transactional_id=self.id, acks=i16(-1), timeout=timedelta(seconds=10),
            topic_data=(produce_req.TopicProduceData(name=topic, partition_data=(
                produce_req.PartitionProduceData(index=i32(partition), records=batch),)),)))
        error = int(r.responses[0].partition_responses[0].error_code)
        if error == NONE:
            self.sequence += 1
        return error


def test_a_batch_opens_a_transaction_only_in_a_partition_added_to_it(three_brokers):
    cluster = three_brokers
    topic = f"verified-{uuid.uuid4().hex[:8]}"
    create_topic(cluster, topic, partitions=6, replication_factor=1)
    txn = RawTransaction(cluster, f"verified-{uuid.uuid4().hex[:8]}")
    partitions = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(topic, timeout=10).topics[
        topic].partitions
    partition, leader = next((p.id, p.leader) for p in partitions.values() if p.leader != txn.coordinator)

    assert txn.produce(leader, topic, partition) == INVALID_TXN_STATE  # never added
    txn.add(topic, partition)
    assert txn.produce(leader, topic, partition) == NONE
    assert txn.produce(leader, topic, partition) == NONE  # open there now: nothing more to verify
    txn.end(commit=False)
    # Until its marker is written the batch would join the transaction being aborted, and while
    # the coordinator writes markers it answers NOT_ENOUGH_REPLICAS (retriable); once it is done:
    txn.wait_state("CompleteAbort")
    # a request that lingered past the abort (same epoch: version 1 does not bump it) opens nothing
    assert txn.produce(leader, topic, partition) == INVALID_TXN_STATE
    txn.add(topic, partition)  # the next transaction
    assert txn.produce(leader, topic, partition) == NONE
    txn.end(commit=True)
