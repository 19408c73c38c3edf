"""AlterPartitionReassignments (key 45), version 0.

Sets a partition's target replicas (null replicas cancels an ongoing reassignment). The
new replicas are added and fetch from the leader (throttled as Kafka does: by the
*.replication.throttled.rate of the brokers, for the replicas the topic lists in its
*.replication.throttled.replicas; engine/broker/replication_throttle.py); once all of them are in the ISR the
controller drops the replicas that are leaving, moves leadership if the leader leaves,
and the leaving brokers delete their copies. Served by the controller broker (others
answer NOT_CONTROLLER).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call, group_by_topic
from partita.engine.api.controller_bound import is_controller
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(45, 0, 0)
async def handle_alter_partition_reassignments(request, ctx):
    m = codec.response_module(45, ctx.api_version)
    if not is_controller(ctx):
        return codec.build(m.AlterPartitionReassignmentsResponse, throttle_time=timedelta(0),
                           error_code=ErrorCode.not_controller, error_message=None, responses=())
    partitions = [{"topic": t.name, "partition": p.partition_index,
                   "replicas": list(p.replicas) if p.replicas is not None else None}
                  for t in request.topics for p in t.partitions]
    results = await controller_call(ctx, "AlterPartitionReassignments", partitions=partitions)
    by_topic = group_by_topic(results, lambda r: r["topic"], lambda r: codec.build(
        m.ReassignablePartitionResponse, partition_index=r["partition"], error_code=ErrorCode(r["error_code"]),
        error_message=r.get("error_message")))
    return codec.build(
        m.AlterPartitionReassignmentsResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
        error_message=None,
        responses=tuple(codec.build(m.ReassignableTopicResponse, name=t, partitions=tuple(ps))
                        for t, ps in by_topic.items()))
