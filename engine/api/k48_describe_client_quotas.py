"""DescribeClientQuotas (key 48), versions 0–1.

The quotas the controller stores (AlterClientQuotas, key 49), matched as Kafka 4.1 matches
them (engine/cluster/client_quotas.py): each filter component names an entity type
(user, client-id, ip) and a match type — exact name, the default entity, or any entity of
that type (defaults included); strict leaves out entities with types the filter does not
name. A malformed filter answers a top-level INVALID_REQUEST (UNSUPPORTED_VERSION for an
unknown entity type) with Kafka's message and no entries. Any broker answers, asking the
controller. The engine stores and describes quotas but does not enforce them: no request
is throttled.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(48, 0, 1)
async def handle_describe_client_quotas(request, ctx):
    m = codec.response_module(48, ctx.api_version)
    answer = await controller_call(
        ctx, "DescribeClientQuotas", strict=request.strict,
        components=[[c.entity_type, c.match_type, c.match] for c in request.components])
    entries = answer["entries"]
    return codec.build(
        m.DescribeClientQuotasResponse, throttle_time=timedelta(0), error_code=ErrorCode(answer["error_code"]),
        error_message=answer["error_message"],
        entries=None if entries is None else tuple(
            codec.build(m.EntryData,
                        entity=tuple(codec.build(m.EntityData, entity_type=t, entity_name=n) for t, n in e["entity"]),
                        values=tuple(codec.build(m.ValueData, key=k, value=v) for k, v in sorted(e["values"].items())))
            for e in entries
        ),
    )
