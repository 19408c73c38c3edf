"""CreatePartitions (key 37), versions 0–3.

Forwarded to the controller: the count must grow; new partitions are placed across racks
like new topics, or where explicit assignments say: one replica list per new partition, each
of the topic's replication factor, on registered brokers, each once (else
INVALID_REPLICA_ASSIGNMENT with Kafka's message). validate_only checks only. More than
10,000 new partitions in one request are refused whole, before any is placed, with the code
Kafka 4.1.1 answers (UNKNOWN_SERVER_ERROR) and a message saying why.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(37, 0, 3)
async def handle_create_partitions(request, ctx):
    m = codec.response_module(37, ctx.api_version)
    # null assignments: the controller places the new partitions; a list, even an empty one, places them
    topics = [{"name": t.name, "count": t.count,
               "assignments": None if t.assignments is None else [list(a.broker_ids) for a in t.assignments]}
              for t in request.topics]
    results = await controller_call(ctx, "CreatePartitions", topics=topics, validate_only=request.validate_only)
    grown = {t["name"]: t["count"] for t, r in zip(topics, results, strict=True) if r["error_code"] == 0}
    if grown and not request.validate_only:
        await ctx.broker.wait_for_metadata(
            lambda image: all(n in image.topics and len(image.topics[n].partitions) >= c for n, c in grown.items()),
            min(request.timeout.total_seconds(), 5.0) or 0.5,
        )
    return codec.build(
        m.CreatePartitionsResponse,
        throttle_time=timedelta(0),
        results=tuple(codec.build(m.CreatePartitionsTopicResult, name=r["name"], error_code=ErrorCode(r["error_code"]),
                                  error_message=r.get("error_message")) for r in results),
    )
