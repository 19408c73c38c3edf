"""LeaveGroup (key 13), versions 0–4.

v0–2 name one member; v3+ a batch of members by member id and/or group instance id
(static members leave by instance id; a member id that does not match the instance's is
FENCED_INSTANCE_ID). Leaving members trigger a rebalance of the rest. Not implemented:
v5 (reason).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(13, 0, 4)
async def handle_leave_group(request, ctx):
    version = ctx.api_version
    m = codec.response_module(13, version)
    if version >= 3:
        leaving = [(mi.member_id, mi.group_instance_id) for mi in request.members]
    else:
        leaving = [(request.member_id, None)]
    manager = manager_of(ctx)
    if manager is None:
        error, results = ErrorCode.coordinator_not_available, []
    else:
        error, results = manager.leave_group(request.group_id, leaving)
    if version < 3:
        if error == ErrorCode.none and results:
            error = results[0][2]
        return codec.build(m.LeaveGroupResponse, throttle_time=timedelta(0), error_code=error)
    return codec.build(
        m.LeaveGroupResponse,
        throttle_time=timedelta(0),
        error_code=error,
        members=tuple(codec.build(m.MemberResponse, member_id=mid, group_instance_id=iid, error_code=code)
                      for mid, iid, code in results),
    )
