"""FindCoordinator (key 10), versions 0–4.

Key type 0 (group) only: the coordinator of a group is the leader of partition
`Utils.abs(javaHash(group)) % partitions` of `__consumer_offsets`. The first request
creates that topic through the controller (offsets.topic.num.partitions partitions,
replication factor min(offsets.topic.replication.factor, live brokers),
cleanup.policy=compact) and answers once it has leaders. A partition without a live
leader answers COORDINATOR_NOT_AVAILABLE (retriable). v4 batches keys
(coordinator_keys) and answers one entry per key. Not implemented: transaction
coordinators (key type 1 answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED, as Produce
refuses transactions) and share groups (key type 2: INVALID_REQUEST).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import controller_call, wait_for_topics
from partita.engine.api.registry import api
from partita.engine.groups.hashing import OFFSETS_TOPIC, partition_for
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode, KafkaError

GROUP_KEY = 0
TRANSACTION_KEY = 1
OFFSETS_TOPIC_CONFIGS = {"cleanup.policy": "compact", "compression.type": "producer", "segment.bytes": "104857600"}


@api(10, 0, 4)
async def handle_find_coordinator(request, ctx):
    version = ctx.api_version
    m = codec.response_module(10, version)
    key_type = getattr(request, "key_type", GROUP_KEY)
    keys = list(request.coordinator_keys) if version >= 4 else [request.key]
    topic_error = None
    if key_type == GROUP_KEY and keys:
        topic_error = await _ensure_offsets_topic(ctx)
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
    if key_type == TRANSACTION_KEY:
        return (ErrorCode.transactional_id_authorization_failed,
                "transactions are not supported by the Partita engine", -1, "", -1)
    if key_type != GROUP_KEY:
        return ErrorCode.invalid_request, f"coordinator key type {key_type} is not supported", -1, "", -1
    image = ctx.broker.metadata
    topic = image.topics.get(OFFSETS_TOPIC)
    if topic is None or not topic.partitions:
        return ErrorCode.coordinator_not_available, topic_error or f"{OFFSETS_TOPIC} does not exist yet", -1, "", -1
    leader = topic.partitions[partition_for(key, len(topic.partitions))].leader
    broker = image.brokers.get(leader)
    if leader < 0 or broker is None or not broker.alive:
        return ErrorCode.coordinator_not_available, "the group's coordinator partition has no leader", -1, "", -1
    return ErrorCode.none, None, broker.node_id, broker.host, broker.port


async def _ensure_offsets_topic(ctx) -> str | None:
    """Create `__consumer_offsets` when it does not exist; a message when that failed."""
    broker = ctx.broker
    if OFFSETS_TOPIC in broker.metadata.topics:
        return None
    partitions = int(broker.setting("offsets.topic.num.partitions", "50"))
    live = max(1, len(broker.metadata.live_brokers()))
    rf = max(1, min(int(broker.setting("offsets.topic.replication.factor", "3")), live))
    try:
        results = await controller_call(ctx, "CreateTopics", topics=[{
            "name": OFFSETS_TOPIC, "num_partitions": partitions, "replication_factor": rf,
            "configs": dict(OFFSETS_TOPIC_CONFIGS),
        }])
    except KafkaError as exc:
        return f"cannot create {OFFSETS_TOPIC}: {exc}"
    for r in results:
        if r["error_code"] not in (ErrorCode.none, ErrorCode.topic_already_exists):
            return f"cannot create {OFFSETS_TOPIC}: {r.get('error_message')}"
    await wait_for_topics(ctx, [OFFSETS_TOPIC])
    return None
