"""ListGroups (key 16), versions 0–5.

The groups this broker coordinates (clients ask every broker and merge), with protocol
type and (v4+) state; v4's states_filter keeps the groups in those states (matched
without regard to case, as Kafka does; empty = all). v5 gives each group's type,
"classic" or "consumer" (KIP-848 groups: protocol type "consumer", states Empty, Assigning,
Reconciling, Stable), and its types_filter keeps those types (case aside). While a
`__consumer_offsets` partition is still loading the answer is COORDINATOR_LOAD_IN_PROGRESS
with the groups known so far. Before v5 consumer groups are listed too, as Kafka does.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(16, 0, 5)
async def handle_list_groups(request, ctx):
    m = codec.response_module(16, ctx.api_version)
    manager = manager_of(ctx)
    types = [t.lower() for t in getattr(request, "types_filter", ()) or ()]
    if manager is None:
        error, groups = ErrorCode.none, []
    else:
        error, groups = manager.list_typed_groups(getattr(request, "states_filter", ()) or (), types)
    return codec.build(
        m.ListGroupsResponse,
        throttle_time=timedelta(0),
        error_code=error,
        groups=tuple(codec.build(m.ListedGroup, group_id=gid, protocol_type=ptype, group_state=state,
                                 group_type=kind)
                     for gid, ptype, state, kind in sorted(groups)),
    )
