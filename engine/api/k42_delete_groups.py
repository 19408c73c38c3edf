"""DeleteGroups (key 42), versions 0–2.

Deletes empty groups: tombstones for each committed offset and for the group metadata
are written to `__consumer_offsets` (acks=all), then the group is gone; KIP-848 consumer
groups likewise once they have no members. A group with members answers NON_EMPTY_GROUP; an unknown one GROUP_ID_NOT_FOUND; a group this broker
does not coordinate NOT_COORDINATOR.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(42, 0, 2)
async def handle_delete_groups(request, ctx):
    m = codec.response_module(42, ctx.api_version)
    names = list(request.groups_names)
    manager = manager_of(ctx)
    if manager is None:
        results = dict.fromkeys(names, ErrorCode.coordinator_not_available)
    else:
        results = await manager.delete_groups(names)
    return codec.build(
        m.DeleteGroupsResponse,
        throttle_time=timedelta(0),
        results=tuple(codec.build(m.DeletableGroupResult, group_id=g, error_code=results[g]) for g in names),
    )
