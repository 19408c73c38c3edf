"""CreateTopics (key 19), versions 2–5.

Forwarded to the controller, which validates names, configs and assignments (with Kafka's
messages) and places replicas across racks. num_partitions / replication_factor -1 (v4+)
take the broker defaults. validate_only checks without creating. The answer waits (within
the request timeout) until this broker's metadata has the new topics, so a Metadata request
sent right after sees them. v5 reports the topic's configs and partition count. A request
asking for more than 10,000 partitions in all is refused whole (POLICY_VIOLATION), as by
Kafka's controller, which makes at most 10,000 metadata records per request. As in Kafka, a
name given twice in one request is refused (INVALID_REQUEST) and nothing is made of it, and
a name equal to an existing topic's once '.' and '_' are the same (they share metric names)
is refused (INVALID_TOPIC_EXCEPTION); two such new names in one request are not compared.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from partita.engine.api.common import controller_call, wait_for_topics
from partita.engine.api.registry import api
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode, KafkaError

_SOURCES = {"topic": 1, "broker": 4, "default": 5}


@api(19, 2, 5)
async def handle_create_topics(request, ctx):
    m = codec.response_module(19, ctx.api_version)
    # As Kafka's ControllerApis: a name given twice is left out of the request and refused once,
    # after the other topics' results.
    counts = Counter(t.name for t in request.topics)
    duplicates = [name for name, count in counts.items() if count > 1]
    specs = [_spec(t) for t in request.topics if counts[t.name] == 1]
    valid = [s for s in specs if "error" not in s]
    try:
        results = {r["name"]: r for r in await controller_call(
            ctx, "CreateTopics", topics=valid, validate_only=request.validate_only)} if valid else {}
    except KafkaError as exc:
        results = {s["name"]: {"error_code": int(exc.code), "error_message": exc.message} for s in valid}
    created = [n for n, r in results.items() if r["error_code"] == 0]
    if created and not request.validate_only:
        await wait_for_topics(ctx, created, min(request.timeout.total_seconds(), 5.0) or 0.5)
    refused = {"error_code": int(ErrorCode.invalid_request)}
    topics = [_topic_result(m, ctx.api_version, s["name"], results.get(s["name"]) or {
        **refused, "error_message": s.get("error")}) for s in specs]
    topics += [_topic_result(m, ctx.api_version, name, {**refused, "error_message": "Duplicate topic name."})
               for name in duplicates]
    return codec.build(m.CreateTopicsResponse, throttle_time=timedelta(0), topics=tuple(topics))


def _spec(t) -> dict:
    """A requested topic as the controller takes it; "error" when the request itself is wrong."""
    spec = {
        "name": t.name,
        "num_partitions": t.num_partitions,
        "replication_factor": t.replication_factor,
        "assignments": [[a.partition_index, list(a.broker_ids)] for a in t.assignments],
        "configs": {c.name: c.value for c in t.configs},
    }
    if t.assignments and t.replication_factor != -1:
        spec["error"] = "A manual partition assignment was specified, but replication factor was not set to -1."
    elif t.assignments and t.num_partitions != -1:
        spec["error"] = "A manual partition assignment was specified, but numPartitions was not set to -1."
    return spec


def _topic_result(m, api_version: int, name: str, r: dict):
    ok = r["error_code"] == 0
    configs = None
    if ok and api_version >= 5:
        configs = tuple(
            codec.build(m.CreatableTopicConfigs, name=c["name"], value=c["value"], read_only=False,
                        config_source=_SOURCES[c["source"]], is_sensitive=False)
            for c in r["configs"]
        )
    return codec.build(
        m.CreatableTopicResult,
        name=name,
        error_code=ErrorCode(r["error_code"]),
        error_message=r.get("error_message"),
        topic_config_error_code=0,
        num_partitions=r.get("num_partitions", -1) if ok else -1,
        replication_factor=r.get("replication_factor", -1) if ok else -1,
        configs=configs,
    )
