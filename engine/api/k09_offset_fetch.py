"""OffsetFetch (key 9), versions 1–9.

A group's committed offsets: for the partitions asked for (-1, leader epoch -1 and ""
metadata where nothing is committed), or every committed partition when topics is null
(v2+). v8 asks for several groups at once, each answered with its own error. Coordinator
errors are the top-level error from v2 (v8: per group) and each partition's error in v1.
With require_stable (v7+), a partition whose transactional offsets await their
transaction's marker answers UNSTABLE_OFFSET_COMMIT (the consumer retries), as Kafka.
v9 members of a KIP-848 consumer group send their member id and epoch: a stranger gets
UNKNOWN_MEMBER_ID, another epoch STALE_MEMBER_EPOCH (the admin client sends neither). Not
implemented: v10 (topic ids).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(9, 1, 9)
async def handle_offset_fetch(request, ctx):
    version = ctx.api_version
    m = codec.response_module(9, version)
    manager = manager_of(ctx)
    if version >= 8:
        groups = []
        for g in request.groups:
            error, topics = _fetch(manager, g.group_id, g.topics, getattr(g, "member_id", None),
                                   getattr(g, "member_epoch", -1))
            unstable = _unstable(manager, request, g.group_id)
            groups.append(codec.build(
                m.OffsetFetchResponseGroup, group_id=g.group_id, error_code=error,
                topics=_topics(m.OffsetFetchResponseTopics, m.OffsetFetchResponsePartitions, topics, ErrorCode.none,
                               unstable),
            ))
        return codec.build(m.OffsetFetchResponse, throttle_time=timedelta(0), groups=tuple(groups))
    error, topics = _fetch(manager, request.group_id, request.topics)
    if error != ErrorCode.none:
        if version == 1:
            # v1 has no top-level error: every partition asked for carries it.
            topics = [(t.name, [(p, None) for p in t.partition_indexes]) for t in request.topics or ()]
            return codec.build(m.OffsetFetchResponse, throttle_time=timedelta(0), topics=_topics(
                m.OffsetFetchResponseTopic, m.OffsetFetchResponsePartition, topics, error))
        topics = []
    return codec.build(
        m.OffsetFetchResponse,
        throttle_time=timedelta(0),
        error_code=error,
        topics=_topics(m.OffsetFetchResponseTopic, m.OffsetFetchResponsePartition, topics, ErrorCode.none,
                       _unstable(manager, request, request.group_id)),
    )


def _unstable(manager, request, group_id):
    """(topic, partition) -> whether its offset awaits a transaction, when require_stable asks."""
    if manager is None or not getattr(request, "require_stable", False) or not manager.pending_txn_offsets:
        return None
    return lambda topic, partition: manager.has_pending_txn_offset(group_id, topic, partition)


def _fetch(manager, group_id, requested, member_id=None, member_epoch=-1):
    if manager is None:
        return ErrorCode.coordinator_not_available, []
    wanted = None if requested is None else [(t.name, list(t.partition_indexes)) for t in requested]
    return manager.fetch_offsets(group_id, wanted, member_id, member_epoch)


def _topics(topic_cls, partition_cls, topics, partition_error, unstable=None):
    def partition(name, p, om):
        if unstable is not None and unstable(name, p):
            return codec.build(partition_cls, partition_index=p, committed_offset=-1, committed_leader_epoch=-1,
                               metadata="", error_code=ErrorCode.unstable_offset_commit)
        return codec.build(
            partition_cls,
            partition_index=p,
            committed_offset=om.offset if om is not None else -1,
            committed_leader_epoch=om.leader_epoch if om is not None else -1,
            metadata=om.metadata if om is not None else "",
            error_code=partition_error,
        )

    return tuple(
        codec.build(topic_cls, name=name, partitions=tuple(partition(name, p, om) for p, om in parts))
        for name, parts in topics
    )
