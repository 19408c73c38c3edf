"""Requests Kafka's admin clients send to the controller reported in Metadata.

The controller runs in the supervisor; the broker reported as controller forwards these
requests to it. Any other broker answers NOT_CONTROLLER, which makes the client refresh
its metadata and retry at the right broker, as it would with Kafka.
"""

from __future__ import annotations


def is_controller(ctx) -> bool:
    return ctx.broker.metadata.controller_id == ctx.broker.node_id
