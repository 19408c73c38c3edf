"""DeleteTopics (key 20), versions 1–6 (v5 adds an error message, v6 topics by name or by id:
UNKNOWN_TOPIC_ID for an id not known, INVALID_REQUEST for an entry naming both).

Forwarded to the controller; internal topics cannot be deleted (POLICY_VIOLATION with a message
saying why; Kafka allows it). Each broker deletes its replicas' logs when the new metadata image
no longer has the topic; the answer waits (within the request timeout) until this broker's image
reflects the deletion.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from partita.engine.api.common import controller_call
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(20, 1, 6)
async def handle_delete_topics(request, ctx):
    m = codec.response_module(20, ctx.api_version)
    early: dict[int, dict] = {}  # answers decided here, by the request entry's position
    named: list[tuple[int, str]] = []
    for i, (name, topic_id) in enumerate(_entries(request)):
        if name is not None and topic_id is not None:
            early[i] = {"name": name, "topic_id": topic_id, "error_code": ErrorCode.invalid_request,
                        "error_message": "You may not specify both topic name and topic id."}
        elif topic_id is not None and topic_id not in ctx.broker.metadata.topic_ids:
            early[i] = {"name": None, "topic_id": topic_id, "error_code": ErrorCode.unknown_topic_id,
                        "error_message": f"Topic id {topic_id} not found."}
        else:
            named.append((i, name if name is not None else ctx.broker.metadata.topic_ids[topic_id]))
    results = await controller_call(ctx, "DeleteTopics", names=[n for _, n in named]) if named else []
    deleted = {r["name"] for r in results if r["error_code"] == 0}
    if deleted:
        await ctx.broker.wait_for_metadata(lambda image: not (deleted & image.topics.keys()),
                                           min(request.timeout.total_seconds(), 5.0) or 0.5)
    answers = {**early, **{i: r for (i, _), r in zip(named, results, strict=True)}}
    responses = tuple(
        codec.build(m.DeletableTopicResult, name=r["name"], error_code=ErrorCode(r["error_code"]),
                    error_message=r.get("error_message"), topic_id=_uuid(r.get("topic_id")))
        for _, r in sorted(answers.items()))
    return codec.build(m.DeleteTopicsResponse, throttle_time=timedelta(0), responses=responses)


def _entries(request) -> list[tuple[str | None, uuid.UUID | None]]:
    """(name, topic id) per topic to delete: v6 names either (KIP-516), earlier versions names."""
    if hasattr(request, "topics"):
        return [(t.name, t.topic_id if t.topic_id not in (None, _NO_ID) else None) for t in request.topics]
    return [(name, None) for name in request.topic_names]


def _uuid(value) -> uuid.UUID:
    if value is None:
        return _NO_ID
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


_NO_ID = uuid.UUID(int=0)
