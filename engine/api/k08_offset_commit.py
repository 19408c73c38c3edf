"""OffsetCommit (key 8), versions 2–9.

Commits (offset, leader epoch (v6+), metadata) per partition for a group, as
OffsetCommitValue records in the group's `__consumer_offsets` partition; answered once
replicated (acks=all). Members commit with their generation and member id (v7+ also the
group instance id); generation -1 commits are accepted for empty groups (the admin
client, consumers that assign partitions themselves) and create the group. Errors per
partition: ILLEGAL_GENERATION, UNKNOWN_MEMBER_ID, REBALANCE_IN_PROGRESS,
FENCED_INSTANCE_ID, OFFSET_METADATA_TOO_LARGE (offset.metadata.max.bytes),
UNKNOWN_TOPIC_OR_PARTITION (topic not in the metadata), coordinator errors. v2–4
retention_time_ms, when set, becomes the offset's expire timestamp (OffsetCommitValue
v1, as Kafka writes it). In a KIP-848 consumer group (v9) the generation is the member
epoch: STALE_MEMBER_EPOCH when it is not the member's, UNKNOWN_MEMBER_ID for a stranger
(and for generation -1 while the group has members), UNSUPPORTED_VERSION for one of its
members committing below v9. Not implemented: v0–1 (kio lacks them), v10 (topic ids).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.common import offsets_to_commit, results_by_topic
from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of, millis
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(8, 2, 9)
async def handle_offset_commit(request, ctx):
    version = ctx.api_version
    m = codec.response_module(8, version)
    offsets = offsets_to_commit(request.topics)
    manager = manager_of(ctx)
    if manager is None:
        results = {(t, p): ErrorCode.coordinator_not_available for t, p, *_ in offsets}
    else:
        image = ctx.broker.metadata
        results = await manager.commit_offsets(
            request.group_id,
            request.generation_id_or_member_epoch,
            request.member_id,
            getattr(request, "group_instance_id", None),
            millis(getattr(request, "retention_time", None)) if version <= 4 else -1,
            offsets,
            partition_exists=lambda name, index: image.partition(name, index) is not None,
            api_version=version,
        )
    topics = results_by_topic(m.OffsetCommitResponseTopic, m.OffsetCommitResponsePartition, request.topics, results)
    return codec.build(m.OffsetCommitResponse, throttle_time=timedelta(0), topics=topics)

