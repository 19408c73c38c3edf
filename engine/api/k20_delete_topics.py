"""DeleteTopics (key 20), versions 1–4.

Forwarded to the controller; internal topics cannot be deleted. Each broker deletes its
replicas' logs when the new metadata image no longer has the topic; the answer waits
(within the request timeout) until this broker's image reflects the deletion.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(20, 1, 4)
async def handle_delete_topics(request, ctx):
    m = codec.response_module(20, ctx.api_version)
    names = list(request.topic_names)
    results = await controller_call(ctx, "DeleteTopics", names=names)
    deleted = {r["name"] for r in results if r["error_code"] == 0}
    if deleted:
        await ctx.broker.wait_for_metadata(lambda image: not (deleted & image.topics.keys()),
                                           min(request.timeout.total_seconds(), 5.0) or 0.5)
    responses = tuple(codec.build(m.DeletableTopicResult, name=r["name"], error_code=ErrorCode(r["error_code"]),
                                  error_message=r.get("error_message")) for r in results)
    return codec.build(m.DeleteTopicsResponse, throttle_time=timedelta(0), responses=responses)
