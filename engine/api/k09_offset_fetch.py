"""OffsetFetch (key 9), versions 1–8.

A group's committed offsets: for the partitions asked for (-1, leader epoch -1 and ""
metadata where nothing is committed), or every committed partition when topics is null
(v2+). v8 asks for several groups at once, each answered with its own error. Coordinator
errors are the top-level error from v2 (v8: per group) and each partition's error in v1.
require_stable (v7+) is accepted and needs no waiting: there are no transactional
commits. Not implemented: v9+ (KIP-848 member epochs).
"""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.registry import api
from partita.engine.groups.coordinator import manager_of
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(9, 1, 8)
async def handle_offset_fetch(request, ctx):
    version = ctx.api_version
    m = codec.response_module(9, version)
    manager = manager_of(ctx)
    if version >= 8:
        groups = []
        for g in request.groups:
            error, topics = _fetch(manager, g.group_id, g.topics)
            groups.append(codec.build(
                m.OffsetFetchResponseGroup, group_id=g.group_id, error_code=error,
                topics=_topics(m.OffsetFetchResponseTopics, m.OffsetFetchResponsePartitions, topics, ErrorCode.none),
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
        topics=_topics(m.OffsetFetchResponseTopic, m.OffsetFetchResponsePartition, topics, ErrorCode.none),
    )


def _fetch(manager, group_id, requested):
    if manager is None:
        return ErrorCode.coordinator_not_available, []
    wanted = None if requested is None else [(t.name, list(t.partition_indexes)) for t in requested]
    return manager.fetch_offsets(group_id, wanted)


def _topics(topic_cls, partition_cls, topics, partition_error):
    return tuple(
        codec.build(
            topic_cls,
            name=name,
            partitions=tuple(
                codec.build(
                    partition_cls,
                    partition_index=p,
                    committed_offset=om.offset if om is not None else -1,
                    committed_leader_epoch=om.leader_epoch if om is not None else -1,
                    metadata=om.metadata if om is not None else "",
                    error_code=partition_error,
                )
                for p, om in parts
            ),
        )
        for name, parts in topics
    )
