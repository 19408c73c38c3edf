"""JoinGroup (key 11), versions 0–7.

The classic group protocol (engine/groups/manager.py has the behaviour): protocol
metadata is passed through untouched, so every client-side assignor works; v4+ new
members get MEMBER_ID_REQUIRED with their id first; v5+ static membership
(group.instance.id); the answer waits for the rebalance (initial delay
group.initial.rebalance.delay.ms, rebalance timeout). v0 has no rebalance timeout: the
session timeout serves. Not implemented: JoinGroup v8+ (reason, skip_assignment).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import client_host, manager_of, millis
from partita.engine.groups.state import JoinResult
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(11, 0, 7)
async def handle_join_group(request, ctx):
    version = ctx.api_version
    m = codec.response_module(11, version)
    session_ms = millis(request.session_timeout)
    rebalance_ms = millis(request.rebalance_timeout) if version >= 1 else session_ms
    manager = manager_of(ctx)
    if manager is None:
        result = JoinResult(ErrorCode.coordinator_not_available, request.member_id)
    else:
        result = await manager.join_group(
            request.group_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
            ctx.client_id or "",
            client_host(ctx),
            request.protocol_type,
            [(p.name, bytes(p.metadata)) for p in request.protocols],
            session_ms,
            rebalance_ms,
            require_known_member_id=version >= 4,
        )
    members = tuple(
        codec.build(m.JoinGroupResponseMember, member_id=mid, group_instance_id=iid, metadata=md)
        for mid, iid, md in result.members
    )
    return codec.build(
        m.JoinGroupResponse,
        throttle_time=timedelta(0),
        error_code=result.error,
        generation_id=result.generation,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name if version >= 7 else (result.protocol_name or ""),
        leader=result.leader,
        member_id=result.member_id,
        members=members,
    )
