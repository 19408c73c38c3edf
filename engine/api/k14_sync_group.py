"""SyncGroup (key 14), versions 0–5.

Members of a generation wait here for their assignment; the leader's assignments (a
member it leaves out gets an empty one) are written to `__consumer_offsets` as the
group's metadata before anyone is answered. Errors: UNKNOWN_MEMBER_ID,
ILLEGAL_GENERATION, FENCED_INSTANCE_ID (v3+), REBALANCE_IN_PROGRESS, and (v5+)
INCONSISTENT_GROUP_PROTOCOL when the protocol type or name differ from the group's.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.groups.state import SyncResult
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(14, 0, 5)
async def handle_sync_group(request, ctx):
    m = codec.response_module(14, ctx.api_version)
    manager = manager_of(ctx)
    if manager is None:
        result = SyncResult(ErrorCode.coordinator_not_available)
    else:
        result = await manager.sync_group(
            request.group_id,
            request.generation_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
            getattr(request, "protocol_type", None),
            getattr(request, "protocol_name", None),
            [(a.member_id, bytes(a.assignment)) for a in request.assignments],
        )
    return codec.build(
        m.SyncGroupResponse,
        throttle_time=timedelta(0),
        error_code=result.error,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )
