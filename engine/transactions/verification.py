"""Partition verification (KIP-890 part 1), the partition leader's side: before a client's
transactional batch may open its producer's transaction in a partition, the leader asks the
transactional id's coordinator whether the partition is in that transaction
(AddPartitionsToTxn v4, verify_only; the coordinator's own broker answers itself). Kafka's
AddPartitionsToTxnManager, without its batching of several producers per request.

Produce answers what Kafka's broker answers clients of Produce v10 and older: a fenced producer
is INVALID_PRODUCER_EPOCH, a partition not in the transaction INVALID_TXN_STATE, and a
coordinator that cannot answer now (moving, loading, ending the transaction, unreachable)
NOT_ENOUGH_REPLICAS, which every client retries without refreshing its metadata.
"""

from __future__ import annotations

import asyncio
import logging

from kio.schema.add_partitions_to_txn.v4.request import (
    AddPartitionsToTxnRequest,
    AddPartitionsToTxnTopic,
    AddPartitionsToTxnTransaction,
)
from kio.static.primitive import i16, i32, i64

from partita.engine.api.internal_topics import TRANSACTION_STATE, coordinator_partition
from partita.engine.broker.broker_connections import BrokerConnections
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)

API_KEY, VERSION = 24, 4
TIMEOUT_S = 10.0
_RETRY = frozenset({ErrorCode.not_coordinator, ErrorCode.coordinator_not_available,
                    ErrorCode.coordinator_load_in_progress, ErrorCode.concurrent_transactions,
                    ErrorCode.network_exception})

Key = tuple[str, int]


class PartitionVerifier:
    def __init__(self, broker):
        self.broker = broker
        self._connections = BrokerConnections(broker, f"txn-verifier-{broker.node_id}")

    async def verify(self, txn_id: str, producer_id: int, epoch: int, partitions: list[Key]) -> dict[Key, ErrorCode]:
        """Each partition's answer, as Produce gives it to the client (NONE: go ahead)."""
        node = self._coordinator_node(txn_id)
        if node is None:
            errors = dict.fromkeys(partitions, ErrorCode.coordinator_not_available)
        elif node == self.broker.node_id and self.broker.transactions is not None:
            errors = self.broker.transactions.verify_partitions(txn_id, producer_id, epoch, set(partitions))
        else:
            errors = await self._ask(node, txn_id, producer_id, epoch, partitions)
        return {key: _for_producer(errors.get(key, ErrorCode.unknown_server_error)) for key in partitions}

    def _coordinator_node(self, txn_id: str) -> int | None:
        image = self.broker.metadata
        found = coordinator_partition(image, TRANSACTION_STATE, txn_id)  # as FindCoordinator answers
        if found is None:
            return None
        leader = image.brokers.get(found[1].leader)
        return leader.node_id if leader is not None and leader.alive else None

    async def _ask(self, node: int, txn_id: str, producer_id: int, epoch: int, partitions: list[Key]
                   ) -> dict[Key, ErrorCode]:
        by_topic: dict[str, list[int]] = {}
        for topic, index in partitions:
            by_topic.setdefault(topic, []).append(index)
        request = AddPartitionsToTxnRequest(transactions=(AddPartitionsToTxnTransaction(
            transactional_id=txn_id, producer_id=i64(producer_id), producer_epoch=i16(epoch), verify_only=True,
            topics=tuple(AddPartitionsToTxnTopic(name=t, partitions=tuple(i32(p) for p in ps))
                         for t, ps in by_topic.items())),))
        try:
            response = await self._connections.request(node, API_KEY, VERSION, request, TIMEOUT_S)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionError, KeyError) as exc:
            log.debug("verifying %r with broker %d failed: %r", txn_id, node, exc)
            return dict.fromkeys(partitions, ErrorCode.network_exception)
        if response.error_code != ErrorCode.none:
            return dict.fromkeys(partitions, response.error_code)
        return {(t.name, p.partition_index): p.partition_error_code
                for result in response.results_by_transaction for t in result.topic_results
                for p in t.results_by_partition}

    def close(self) -> None:
        self._connections.close()


def _for_producer(error: ErrorCode) -> ErrorCode:
    if error in _RETRY:
        return ErrorCode.not_enough_replicas
    if error == ErrorCode.producer_fenced:
        return ErrorCode.invalid_producer_epoch
    if error == ErrorCode.transaction_abortable:
        return ErrorCode.invalid_txn_state
    return error
