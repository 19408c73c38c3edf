"""DescribeQuorum (key 55), versions 0–2: the metadata quorum, as Kafka's KRaft tools ask for it.

The engine's controller is not a Raft quorum: one supervisor process owns the metadata and a
broker named controller (Metadata's and DescribeCluster's controller id) stands for it. It is
described as Kafka describes a quorum of one voter: the leader is that broker, the leader
epoch the term of the current controller (it grows whenever another broker is named, or the
supervisor restarts), the high watermark the version of the newest metadata image; every other
live broker is an observer whose log end offset is the image version it has applied, with the
time of its last heartbeat as last fetch. v2's nodes list the leader's broker listener (Kafka
lists a controller listener; the engine's controller speaks no Kafka protocol of its own).

A request for anything but partition 0 of `__cluster_metadata` alone gets
UNKNOWN_TOPIC_OR_PARTITION for every partition it names, as Kafka answers it. Any broker answers, by asking the controller.
"""

from __future__ import annotations

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode, KafkaError

METADATA_TOPIC = "__cluster_metadata"


@api(55, 0, 2)
async def handle_describe_quorum(request, ctx):
    m = codec.response_module(55, ctx.api_version)
    wanted = [(t.topic_name, p.partition_index) for t in request.topics for p in t.partitions]
    if wanted != [(METADATA_TOPIC, 0)]:
        return _partition_errors(m, request, ErrorCode.unknown_topic_or_partition)
    try:
        q = await controller_call(ctx, "DescribeQuorum")
    except KafkaError as exc:
        return _partition_errors(m, request, exc.code, exc.message)

    def replica(r):
        return codec.build(m.ReplicaState, replica_id=r["replica_id"], replica_directory_id=None,
                           log_end_offset=r["log_end_offset"], last_fetch_timestamp=r["last_fetch_timestamp"],
                           last_caught_up_timestamp=r["last_caught_up_timestamp"])

    partition = codec.build(
        m.PartitionData, partition_index=0, error_code=ErrorCode.none, error_message=None,
        leader_id=q["leader_id"], leader_epoch=q["leader_epoch"], high_watermark=q["high_watermark"],
        current_voters=tuple(map(replica, q["voters"])), observers=tuple(map(replica, q["observers"])),
    )
    nodes = []
    leader = ctx.broker.metadata.brokers.get(q["leader_id"])
    if leader is not None and hasattr(m, "Node"):
        nodes.append(codec.build(m.Node, node_id=leader.node_id,
                                 listeners=(codec.build(m.Listener, name="PLAINTEXT", host=leader.host,
                                                        port=leader.port),)))
    return codec.build(m.DescribeQuorumResponse, error_code=ErrorCode.none, error_message=None,
                       topics=(codec.build(m.TopicData, topic_name=METADATA_TOPIC, partitions=(partition,)),),
                       nodes=tuple(nodes))


def _partition_errors(m, request, code: ErrorCode, message: str | None = None):
    """Every partition asked for answered with `code` (Kafka's getPartitionLevelErrorResponse)."""
    topics = tuple(
        codec.build(m.TopicData, topic_name=t.topic_name, partitions=tuple(
            codec.build(m.PartitionData, partition_index=p.partition_index, error_code=code, error_message=message,
                        leader_id=-1, leader_epoch=-1, high_watermark=-1, current_voters=(), observers=())
            for p in t.partitions))
        for t in request.topics
    )
    return codec.build(m.DescribeQuorumResponse, error_code=ErrorCode.none, error_message=None, topics=topics,
                       nodes=())
