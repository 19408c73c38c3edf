"""DescribeProducers (key 61), version 0.

For each requested partition, the idempotent producers this broker's replica knows from
its producer state (engine/log/producer_state.py): producer id, epoch, last sequence, the
timestamp of its last batch, the coordinator epoch of the last transaction marker written
for it and the first offset of its open transaction in the partition (-1 when none).

As in Kafka, any replica answers from its own log (admin clients ask the leader unless
told a broker id); a broker that hosts no replica of a known partition answers
NOT_LEADER_OR_FOLLOWER, and a partition missing from the metadata answers
UNKNOWN_TOPIC_OR_PARTITION.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

UNKNOWN_PARTITION_MESSAGE = "This server does not host this topic-partition."


@api(61, 0, 0)
async def handle_describe_producers(request, ctx):
    m = codec.response_module(61, ctx.api_version)
    topics = []
    for t in request.topics:
        answers = tuple(_partition_answer(m, ctx.broker, t.name, index) for index in t.partition_indexes)
        topics.append(codec.build(m.TopicResponse, name=t.name, partitions=answers))
    return codec.build(m.DescribeProducersResponse, throttle_time=timedelta(0), topics=tuple(topics))


def _partition_answer(m, broker, topic: str, index: int):
    def answer(error=ErrorCode.none, message=None, producers=()):
        return codec.build(m.PartitionResponse, partition_index=index, error_code=error, error_message=message,
                           active_producers=producers)

    if broker.metadata.partition(topic, index) is None:
        return answer(ErrorCode.unknown_topic_or_partition, UNKNOWN_PARTITION_MESSAGE)
    partition = broker.replicas.get(topic, index)
    if partition is None:
        return answer(ErrorCode.not_leader_or_follower)
    entries = partition.log.producer_state.producers.values()
    return answer(producers=tuple(
        codec.build(
            m.ProducerState, producer_id=e.producer_id, producer_epoch=e.epoch, last_sequence=e.last_seq,
            # Kafka's ProducerStateEntry.lastTimestamp: the timestamp of the producer's last batch
            last_timestamp=e.batches[-1].timestamp if e.batches else e.last_timestamp,
            coordinator_epoch=e.coordinator_epoch, current_txn_start_offset=e.current_txn_first_offset,
        )
        for e in entries
    ))
