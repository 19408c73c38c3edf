"""ElectLeaders (key 43), versions 0–2.

Preferred (0): move leadership back to the first replica when it is alive and in the ISR
(ELECTION_NOT_NEEDED when it already leads, PREFERRED_LEADER_NOT_AVAILABLE otherwise).
Unclean (1, v1+): give an offline partition a leader from any live replica, accepting data
loss (ELECTION_NOT_NEEDED when it has a leader). Null partitions mean all. Served by the
controller broker (others answer NOT_CONTROLLER).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call, group_by_topic
from partita.engine.api.controller_bound import is_controller
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(43, 0, 2)
async def handle_elect_leaders(request, ctx):
    m = codec.response_module(43, ctx.api_version)
    if not is_controller(ctx):
        return codec.build(m.ElectLeadersResponse, throttle_time=timedelta(0), error_code=ErrorCode.not_controller,
                           replica_election_results=())
    partitions = None
    if request.topic_partitions is not None:
        partitions = [(t.topic, p) for t in request.topic_partitions for p in t.partitions]
    results = await controller_call(ctx, "ElectLeaders", election_type=getattr(request, "election_type", 0),
                                    partitions=partitions)
    by_topic = group_by_topic(results, lambda r: r["topic"], lambda r: codec.build(
        m.PartitionResult, partition_id=r["partition"], error_code=ErrorCode(r["error_code"]),
        error_message=r.get("error_message")))
    return codec.build(
        m.ElectLeadersResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
        replica_election_results=tuple(codec.build(m.ReplicaElectionResult, topic=t, partition_result=tuple(ps))
                                       for t, ps in by_topic.items()))
