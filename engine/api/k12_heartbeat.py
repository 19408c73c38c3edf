"""Heartbeat (key 12), versions 0–4.

Keeps a member's session alive. Answers REBALANCE_IN_PROGRESS while the group prepares
a rebalance (the member must rejoin), ILLEGAL_GENERATION for an old generation,
UNKNOWN_MEMBER_ID for a member the group does not know, FENCED_INSTANCE_ID (v3+) when
another member holds the static instance id.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(12, 0, 4)
async def handle_heartbeat(request, ctx):
    m = codec.response_module(12, ctx.api_version)
    manager = manager_of(ctx)
    if manager is None:
        error = ErrorCode.coordinator_not_available
    else:
        error = manager.heartbeat(request.group_id, request.member_id, getattr(request, "group_instance_id", None),
                                  request.generation_id)
    return codec.build(m.HeartbeatResponse, throttle_time=timedelta(0), error_code=error)
