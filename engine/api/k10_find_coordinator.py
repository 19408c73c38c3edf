"""FindCoordinator (key 10), versions 0–4.

Key type 0 (group): the coordinator of a group is the leader of its `__consumer_offsets`
partition; key type 1 (transaction): the leader of the transactional id's
`__transaction_state` partition (engine/api/internal_topics.py). The first request of a
key type creates its topic through the controller and answers once it has leaders. A
partition without a live leader answers COORDINATOR_NOT_AVAILABLE (retriable). v4
batches keys (coordinator_keys) and answers one entry per key.

Share groups (key type 2) are not implemented: INVALID_REQUEST.
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.internal_topics import (
    OFFSETS,
    TRANSACTION_STATE,
    coordinator_partition,
    ensure_internal_topic,
)
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

GROUP_KEY = 0
TRANSACTION_KEY = 1
_TOPIC_OF_KEY_TYPE = {GROUP_KEY: OFFSETS, TRANSACTION_KEY: TRANSACTION_STATE}


@api(10, 0, 4)
async def handle_find_coordinator(request, ctx):
    version = ctx.api_version
    m = codec.response_module(10, version)
    key_type = getattr(request, "key_type", GROUP_KEY)
    keys = list(request.coordinator_keys) if version >= 4 else [request.key]
    topic = _TOPIC_OF_KEY_TYPE.get(key_type)
    topic_error = None
    if topic is not None and keys:
        topic_error = await ensure_internal_topic(ctx, topic)
    answers = [_coordinator_for(ctx, key_type, key, topic_error) for key in keys]
    if version >= 4:
        return codec.build(
            m.FindCoordinatorResponse,
            throttle_time=timedelta(0),
            coordinators=tuple(
                codec.build(m.Coordinator, key=key, node_id=node, host=host, port=port, error_code=error,
                            error_message=message)
                for key, (error, message, node, host, port) in zip(keys, answers, strict=True)
            ),
        )
    error, message, node, host, port = answers[0]
    return codec.build(m.FindCoordinatorResponse, throttle_time=timedelta(0), error_code=error,
                       error_message=message, node_id=node, host=host, port=port)


def _coordinator_for(ctx, key_type: int, key: str, topic_error: str | None):
    topic = _TOPIC_OF_KEY_TYPE.get(key_type)
    if topic is None:
        return ErrorCode.invalid_request, f"coordinator key type {key_type} is not supported", -1, "", -1
    image = ctx.broker.metadata
    found = coordinator_partition(image, topic, key)
    if found is None:
        return ErrorCode.coordinator_not_available, topic_error or f"{topic.name} does not exist yet", -1, "", -1
    leader = found[1].leader
    broker = image.brokers.get(leader)
    if leader < 0 or broker is None or not broker.alive:
        return ErrorCode.coordinator_not_available, "the coordinator's partition has no leader", -1, "", -1
    port = broker.port_of(ctx.listener)  # on the listener the request came on
    if port is None:
        return ErrorCode.coordinator_not_available, f"the coordinator has no {ctx.listener} listener", -1, "", -1
    return ErrorCode.none, None, broker.node_id, broker.host, port
