"""ListPartitionReassignments (key 46), version 0: ongoing reassignments, all or the ones asked for.

Served by the controller broker (others answer NOT_CONTROLLER).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.controller_bound import is_controller
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(46, 0, 0)
async def handle_list_partition_reassignments(request, ctx):
    m = codec.response_module(46, ctx.api_version)
    if not is_controller(ctx):
        return codec.build(m.ListPartitionReassignmentsResponse, throttle_time=timedelta(0),
                           error_code=ErrorCode.not_controller, error_message=None, topics=())
    wanted = None
    if request.topics is not None:
        wanted = {(t.name, p) for t in request.topics for p in t.partition_indexes}
    by_topic: dict[str, list] = {}
    for topic in ctx.broker.metadata.topics.values():
        for index, state in enumerate(topic.partitions):
            if not state.reassigning or (wanted is not None and (topic.name, index) not in wanted):
                continue
            by_topic.setdefault(topic.name, []).append(codec.build(
                m.OngoingPartitionReassignment, partition_index=index, replicas=state.replicas,
                adding_replicas=state.adding, removing_replicas=state.removing))
    return codec.build(
        m.ListPartitionReassignmentsResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
        error_message=None,
        topics=tuple(codec.build(m.OngoingTopicReassignment, name=t, partitions=tuple(ps))
                     for t, ps in by_topic.items()))
