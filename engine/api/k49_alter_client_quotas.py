"""AlterClientQuotas (key 49), versions 0–1.

Sets or removes quota values of user, client-id, user+client-id and ip entities (names
or defaults). Any broker takes the request to the controller, the single writer, which
validates each entry as Kafka 4.1 does (entity types and combinations, quota keys per
entity kind, positive values, whole numbers for byte and connection rates; messages in
engine/cluster/client_quotas.py) and persists the result in its metadata store before
answering; validate_only checks without storing. One result per distinct entity.

The engine stores and describes quotas but does not enforce them: no producer, consumer
or connection is throttled, and throttle_time is always 0.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(49, 0, 1)
async def handle_alter_client_quotas(request, ctx):
    m = codec.response_module(49, ctx.api_version)
    entries = [
        {"entity": [[e.entity_type, e.entity_name] for e in entry.entity],
         "ops": [[op.key, None if op.remove else op.value] for op in entry.ops]}
        for entry in request.entries
    ]
    results = await controller_call(ctx, "AlterClientQuotas", entries=entries, validate_only=request.validate_only)
    return codec.build(
        m.AlterClientQuotasResponse, throttle_time=timedelta(0),
        entries=tuple(
            codec.build(m.EntryData, error_code=ErrorCode(r["error_code"]), error_message=r["error_message"],
                        entity=tuple(codec.build(m.EntityData, entity_type=t, entity_name=n) for t, n in r["entity"]))
            for r in results
        ),
    )
