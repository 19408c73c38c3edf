"""DescribeGroups (key 15), versions 0–6.

Per group: state (Empty, PreparingRebalance, CompletingRebalance, Stable, Dead),
protocol type, and — when Stable — the chosen protocol and each member's metadata and
assignment (other states list members without them, as Kafka does). A group this broker
does not coordinate answers NOT_COORDINATOR; an unknown group is Dead, with no error
before v6 and GROUP_ID_NOT_FOUND ("Group <id> not found.") from v6, as in Kafka 4. A KIP-848
consumer group is not a classic one: Dead, and from v6 GROUP_ID_NOT_FOUND ("Group <id> is not
a classic group.").
v4+ members carry their group instance id. Authorized operations (v3+, when asked) are
all a group allows (READ, DELETE, DESCRIBE): there are no ACLs.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

NO_OPERATIONS = -(2**31)
GROUP_OPERATIONS = (1 << 3) | (1 << 6) | (1 << 8)  # READ, DELETE, DESCRIBE


@api(15, 0, 6)
async def handle_describe_groups(request, ctx):
    m = codec.response_module(15, ctx.api_version)
    manager = manager_of(ctx)
    operations = GROUP_OPERATIONS if getattr(request, "include_authorized_operations", False) else NO_OPERATIONS
    groups = []
    for group_id in request.groups:
        if manager is None:
            error, summary = ErrorCode.coordinator_not_available, None
        else:
            error, summary = manager.describe_group(group_id)
        message = None
        if error == ErrorCode.none and summary is not None and summary.state == "Dead" and ctx.api_version >= 6:
            message = summary.not_found or f"Group {group_id} not found."
            error, summary = ErrorCode.group_id_not_found, None
        members = () if summary is None else tuple(
            codec.build(m.DescribedGroupMember, member_id=mid, group_instance_id=iid, client_id=client,
                        client_host=host, member_metadata=md, member_assignment=assignment)
            for mid, iid, client, host, md, assignment in summary.members
        )
        groups.append(codec.build(
            m.DescribedGroup,
            error_code=error,
            error_message=message,
            group_id=group_id,
            group_state=summary.state if summary else ("Dead" if error == ErrorCode.group_id_not_found else ""),
            protocol_type=summary.protocol_type if summary else "",
            protocol_data=summary.protocol_data if summary else "",
            members=members,
            authorized_operations=operations,
        ))
    return codec.build(m.DescribeGroupsResponse, throttle_time=timedelta(0), groups=tuple(groups))
