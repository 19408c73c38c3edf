"""Sending a transaction's markers to the leaders of its partitions (Kafka's TransactionMarkerChannelManager).

One WriteTxnMarkers request per leader, over a connection kept per broker (the coordinator's
own broker included: the marker goes through the same handler). A partition is done when
its leader answers NONE, or when its topic is gone (UNKNOWN_TOPIC_OR_PARTITION, or absent
from the metadata), or when the leader refuses the marker as stale (INVALID_PRODUCER_EPOCH,
TRANSACTION_COORDINATOR_FENCED: a newer epoch or coordinator has written since). Anything
else — no leader, a leader change, too few in-sync replicas, a lost connection — is retried
with backoff against the leaders of the latest metadata, for as long as the caller still
coordinates the transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from kio.schema.write_txn_markers.v1.request import (
    WritableTxnMarker,
    WritableTxnMarkerTopic,
    WriteTxnMarkersRequest,
)

from partita.engine.broker.broker_connections import BrokerConnections
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)

API_KEY, VERSION = 27, 1
_DONE = frozenset({ErrorCode.none, ErrorCode.unknown_topic_or_partition, ErrorCode.invalid_producer_epoch,
                   ErrorCode.transaction_coordinator_fenced})


class MarkerSender:
    def __init__(self, broker):
        self.broker = broker
        self._connections = BrokerConnections(broker, f"txn-coordinator-{broker.node_id}")

    async def send(self, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                   partitions: set[tuple[str, int]], still_coordinator: Callable[[], bool]) -> bool:
        """Write the marker to every partition; False if we stopped coordinating first."""
        remaining = set(partitions)
        backoff = 0.02
        while remaining:
            if not still_coordinator():
                return False
            image = self.broker.metadata
            by_leader: dict[int, list[tuple[str, int]]] = {}
            for topic, index in list(remaining):
                state = image.partition(topic, index)
                if state is None:
                    remaining.discard((topic, index))  # deleted: nothing to close there
                    continue
                leader = image.brokers.get(state.leader)
                if leader is not None and leader.alive:
                    by_leader.setdefault(state.leader, []).append((topic, index))
            answers = await asyncio.gather(*(
                self._write(node, producer_id, producer_epoch, commit, coordinator_epoch, parts)
                for node, parts in by_leader.items()))
            for done in answers:
                remaining -= done
            if remaining:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)
        return True

    async def _write(self, node: int, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int,
                     partitions: list[tuple[str, int]]) -> set[tuple[str, int]]:
        by_topic: dict[str, list[int]] = {}
        for topic, index in partitions:
            by_topic.setdefault(topic, []).append(index)
        request = WriteTxnMarkersRequest(markers=(WritableTxnMarker(
            producer_id=producer_id, producer_epoch=producer_epoch, transaction_result=commit,
            coordinator_epoch=coordinator_epoch,
            topics=tuple(WritableTxnMarkerTopic(name=t, partition_indexes=tuple(ps)) for t, ps in by_topic.items()),
        ),))
        try:
            response = await self._connections.request(node, API_KEY, VERSION, request)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, ConnectionError, KeyError) as exc:
            log.debug("markers to broker %d failed: %r", node, exc)
            return set()
        except Exception:
            log.exception("markers to broker %d failed", node)
            return set()
        done = set()
        for marker in response.markers:
            for topic in marker.topics:
                for p in topic.partitions:
                    if p.error_code in _DONE:
                        if p.error_code not in (ErrorCode.none, ErrorCode.unknown_topic_or_partition):
                            log.warning("marker for producer %d refused by %s-%d: %s", producer_id, topic.name,
                                        p.partition_index, p.error_code.name)
                        done.add((topic.name, p.partition_index))
        return done

    def close(self) -> None:
        self._connections.close()
