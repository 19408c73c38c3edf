"""Metadata (key 3), versions 0–12.

Brokers: the live ones, with their endpoints on the listener the request came on (PLAINTEXT
or SASL_PLAINTEXT, as Kafka answers by listener), plus for half a second one that was just lost (see
Broker.listed_brokers: it lets clients move partitions before they drop that broker;
offline_replicas marks it meanwhile); a leader whose process has just ended is reported
as unknown until the controller has moved leadership. Controller id: a live broker (the controller itself runs in the
supervisor; every broker forwards controller requests). Topics: all (null list, or an
empty list in v0), or the ones asked for, by name or (v10+) by id. Unknown topics are
created when the request allows it (v4+ flag; always before v4) and the broker's
auto.create.topics.enable is true; the answer then already carries the new partitions.
A partition without a leader answers LEADER_NOT_AVAILABLE; offline replicas are the
assigned brokers that are not alive. Authorized operations are not computed (no ACLs):
-2147483648, as Kafka answers when not asked.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from partita.engine.api.common import (
    ZERO_UUID,
    auto_create,
    auto_create_allowed,
    partition_fields,
    serving_brokers,
)
from partita.engine.api.registry import api
from partita.engine.cluster.configs import topic_name_problem
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode

NO_OPERATIONS = -(2**31)


@api(3, 0, 12)
async def handle_metadata(request, ctx):
    version = ctx.api_version
    m = codec.response_module(3, version)
    image = ctx.broker.metadata
    errors: dict[str, ErrorCode] = {}
    unknown_ids: list[uuid.UUID] = []

    if request.topics is None or (version == 0 and not request.topics):
        names = sorted(image.topics)
    else:
        names = []
        for t in request.topics:
            name = t.name
            if name is None and getattr(t, "topic_id", None) is not None:
                name = image.topic_ids.get(t.topic_id)
                if name is None:
                    unknown_ids.append(t.topic_id)
                    continue
            names.append(name)
        missing = [n for n in names if n not in image.topics]
        allow = getattr(request, "allow_auto_topic_creation", True)
        if missing and allow and auto_create_allowed(ctx):
            errors.update(await auto_create(ctx, missing))
            image = ctx.broker.metadata
        for n in missing:
            if n not in image.topics and n not in errors:
                errors[n] = (ErrorCode.invalid_topic_exception if topic_name_problem(n)
                             else ErrorCode.unknown_topic_or_partition)

    alive = serving_brokers(ctx)
    # each broker's endpoint on the listener this request came on (a broker without it is left out, as in Kafka)
    listener = ctx.listener
    brokers = tuple(
        codec.build(m.MetadataResponseBroker, node_id=b.node_id, host=b.host, port=port, rack=b.rack)
        for b in sorted(ctx.broker.listed_brokers(), key=lambda b: b.node_id)
        if (port := b.port_of(listener)) is not None
    )
    topics = []
    for name in names:
        topic = image.topics.get(name)
        if topic is None:
            topics.append(codec.build(
                m.MetadataResponseTopic, error_code=errors.get(name, ErrorCode.unknown_topic_or_partition),
                name=name, topic_id=ZERO_UUID, is_internal=False, partitions=(),
                topic_authorized_operations=NO_OPERATIONS,
            ))
            continue
        partitions = tuple(codec.build(m.MetadataResponsePartition, **partition_fields(i, p, alive))
                           for i, p in enumerate(topic.partitions))
        topics.append(codec.build(
            m.MetadataResponseTopic, error_code=ErrorCode.none, name=name, topic_id=topic.topic_id,
            is_internal=topic.internal, partitions=partitions, topic_authorized_operations=NO_OPERATIONS,
        ))
    for topic_id in unknown_ids:
        topics.append(codec.build(
            m.MetadataResponseTopic, error_code=ErrorCode.unknown_topic_id, name=None, topic_id=topic_id,
            is_internal=False, partitions=(), topic_authorized_operations=NO_OPERATIONS,
        ))
    return codec.build(
        m.MetadataResponse,
        throttle_time=timedelta(0),
        brokers=brokers,
        cluster_id=image.cluster_id,
        controller_id=image.controller_id,
        topics=tuple(topics),
        cluster_authorized_operations=NO_OPERATIONS,
    )
