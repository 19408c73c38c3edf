"""DescribeCluster (key 60), versions 0–2: cluster id, controller id and live brokers; v2 with
include_fenced_brokers also lists the registered brokers that are down, flagged is_fenced
(kafka-cluster list-endpoints --include-fenced-brokers); endpoints are those of the request's
listener (PLAINTEXT or SASL_PLAINTEXT). Only broker endpoints (type 1) are served:
the engine's controller is not a Kafka node (UNSUPPORTED_ENDPOINT_TYPE for type 2)."""

from __future__ import annotations

from datetime import timedelta

from partita.engine.api.k03_metadata import NO_OPERATIONS
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode


@api(60, 0, 2)
async def handle_describe_cluster(request, ctx):
    m = codec.response_module(60, ctx.api_version)
    image = ctx.broker.metadata
    if getattr(request, "endpoint_type", 1) != 1:
        return codec.build(m.DescribeClusterResponse, throttle_time=timedelta(0),
                           error_code=ErrorCode.unsupported_endpoint_type,
                           error_message="only broker endpoints are served", endpoint_type=request.endpoint_type,
                           cluster_id=image.cluster_id, controller_id=-1, brokers=(),
                           cluster_authorized_operations=NO_OPERATIONS)
    listed = image.brokers.values() if getattr(request, "include_fenced_brokers", False) else image.live_brokers()
    brokers = tuple(
        codec.build(m.DescribeClusterBroker, broker_id=b.node_id, host=b.host, port=port, rack=b.rack,
                    is_fenced=not b.alive)
        for b in sorted(listed, key=lambda b: b.node_id)
        if (port := b.port_of(ctx.listener)) is not None  # the endpoints of the request's listener
    )
    return codec.build(m.DescribeClusterResponse, throttle_time=timedelta(0), error_code=ErrorCode.none,
                       error_message=None, endpoint_type=1, cluster_id=image.cluster_id,
                       controller_id=image.controller_id, brokers=brokers,
                       cluster_authorized_operations=NO_OPERATIONS)
