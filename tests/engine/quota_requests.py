"""Raw AlterClientQuotas / DescribeClientQuotas calls (neither Python client has them), shaped for assertions."""

from __future__ import annotations

import time

from kio.schema.alter_client_quotas.v1.request import AlterClientQuotasRequest, EntityData, EntryData, OpData
from kio.schema.describe_client_quotas.v1.request import ComponentData, DescribeClientQuotasRequest

from tests.engine.helpers import raw_request

EXACT, DEFAULT, ANY = 0, 1, 2


def alter_quotas(address: str, entries, validate_only: bool = False) -> dict:
    """entries: [({type: name or None}, {key: value or None to remove})] -> {entity: (error code, message)}."""
    request = AlterClientQuotasRequest(
        entries=tuple(
            EntryData(entity=tuple(EntityData(entity_type=t, entity_name=n) for t, n in entity.items()),
                      ops=tuple(OpData(key=k, value=v or 0.0, remove=v is None) for k, v in ops.items()))
            for entity, ops in entries),
        validate_only=validate_only)
    response = raw_request(address, 49, 1, request)
    return {_entity(e.entity): (int(e.error_code), e.error_message) for e in response.entries}


def describe_quotas(address: str, components, strict: bool = False):
    """components: [(type, match type, name)] -> {entity: {key: value}}, or (error code, message)."""
    request = DescribeClientQuotasRequest(
        components=tuple(ComponentData(entity_type=t, match_type=m, match=n) for t, m, n in components), strict=strict)
    response = raw_request(address, 48, 1, request)
    if response.error_code:
        return int(response.error_code), response.error_message
    return {_entity(e.entity): {v.key: v.value for v in e.values} for e in response.entries}


def settled(call, expected, timeout_s: float = 5.0):
    """call() until it returns `expected` or the time is up; its last answer.

    Kafka's brokers answer describes from their metadata image, which follows the
    controller's log a moment after an alteration is acknowledged."""
    deadline = time.monotonic() + timeout_s
    while True:
        answer = call()
        if answer == expected or time.monotonic() > deadline:
            return answer
        time.sleep(0.05)


def _entity(components) -> frozenset:
    return frozenset((c.entity_type, c.entity_name) for c in components)
