"""Helpers shared by several API handlers: controller calls, waiting for metadata, auto-creation,
what Metadata and DescribeTopicPartitions say of a partition."""

from __future__ import annotations

import uuid

from partita.engine.cluster.configs import topic_name_problem
from partita.engine.cluster.rpc import RpcError
from partita.engine.protocol import codec
from partita.engine.protocol.errors import ErrorCode, KafkaError

AUTO_CREATE_WAIT_S = 2.0
ZERO_UUID = uuid.UUID(int=0)  # the topic id of a topic that is not there


async def await_replication(partition, end_offset: int, timeout_s: float) -> ErrorCode:
    """Wait until the high watermark reaches `end_offset` (acks=all): NONE, REQUEST_TIMED_OUT,
    or the error of a leadership lost meanwhile."""
    try:
        await partition.wait_for_hw(end_offset, timeout_s)
    except TimeoutError:
        return ErrorCode.request_timed_out
    except Exception as exc:  # leadership lost while waiting
        return getattr(exc, "code", ErrorCode.not_leader_or_follower)
    return ErrorCode.none


async def controller_call(ctx, op: str, **args):
    """Call the controller; its errors come back as KafkaError with Kafka's code."""
    try:
        return await ctx.broker.controller.call(op, **args)
    except RpcError as exc:
        known = exc.code in ErrorCode._value2member_map_
        raise KafkaError(ErrorCode(exc.code) if known else ErrorCode.unknown_server_error, exc.message) from exc
    except (ConnectionError, TimeoutError) as exc:
        raise KafkaError(ErrorCode.request_timed_out, f"controller unavailable: {exc}") from exc


async def wait_for_topics(ctx, names, timeout_s: float = AUTO_CREATE_WAIT_S) -> None:
    """Wait until this broker's image has every topic in `names` with leaders (or the timeout)."""

    def ready(image):
        for name in names:
            topic = image.topics.get(name)
            if topic is None or any(p.leader < 0 for p in topic.partitions):
                return False
        return True

    await ctx.broker.wait_for_metadata(ready, timeout_s)


def auto_create_allowed(ctx) -> bool:
    return ctx.broker.setting("auto.create.topics.enable", "true").lower() == "true"


async def auto_create(ctx, names: list[str]) -> dict[str, ErrorCode]:
    """Create missing topics with the broker defaults; returns an error per name that failed."""
    errors: dict[str, ErrorCode] = {}
    wanted = []
    for name in names:
        if topic_name_problem(name):
            errors[name] = ErrorCode.invalid_topic_exception
        else:
            wanted.append(name)
    if not wanted:
        return errors
    results = await controller_call(
        ctx, "CreateTopics", topics=[{"name": n, "num_partitions": -1, "replication_factor": -1} for n in wanted]
    )
    for r in results:
        code = ErrorCode(r["error_code"])
        if code not in (ErrorCode.none, ErrorCode.topic_already_exists):
            errors[r["name"]] = code
    await wait_for_topics(ctx, [n for n in wanted if n not in errors])
    return errors


def serving_brokers(ctx) -> set[int]:
    """The brokers a client may be sent to: alive in the image, less any whose process has just
    ended (see Broker.suspected_down)."""
    return {b.node_id for b in ctx.broker.metadata.live_brokers()} - ctx.broker.suspected_down()


def partition_fields(index: int, state, serving: set[int]) -> dict:
    """A partition as Metadata and DescribeTopicPartitions report it: no leader (and
    LEADER_NOT_AVAILABLE) unless it is serving; offline replicas are those not serving."""
    led = state.leader in serving
    return {
        "error_code": ErrorCode.none if led else ErrorCode.leader_not_available,
        "partition_index": index,
        "leader_id": state.leader if led else -1,
        "leader_epoch": state.leader_epoch,
        "replica_nodes": state.replicas,
        "isr_nodes": state.isr,
        "offline_replicas": tuple(r for r in state.replicas if r not in serving),
    }


def group_by_topic(items, topic_of, build) -> dict[str, list]:
    """topic -> [build(item)], in first-seen order: the shape of most per-topic responses."""
    grouped: dict[str, list] = {}
    for item in items:
        grouped.setdefault(topic_of(item), []).append(build(item))
    return grouped


def offsets_to_commit(requested_topics) -> list[tuple[str, int, int, int, str | None]]:
    """An offset commit's (OffsetCommit, TxnOffsetCommit) partitions: topic, partition, offset, leader epoch, metadata."""
    return [
        (t.name, p.partition_index, p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.committed_metadata)
        for t in requested_topics
        for p in t.partitions
    ]


def results_by_topic(topic_cls, partition_cls, requested_topics, results: dict) -> tuple:
    """An offset commit's answer (OffsetCommit, TxnOffsetCommit): each partition asked for with its error."""
    return tuple(
        codec.build(
            topic_cls,
            name=t.name,
            partitions=tuple(
                codec.build(partition_cls, partition_index=p.partition_index,
                            error_code=results.get((t.name, p.partition_index), ErrorCode.none))
                for p in t.partitions
            ),
        )
        for t in requested_topics
    )
