"""Fetch (key 1), versions 4–12.

Consumers read up to the high watermark, read_committed ones (isolation_level 1) up to the
last stable offset, and get the aborted transactions the batches sent may belong to
(producer id, first offset) so they skip those records, as Kafka's fetch answers; followers
(replica_id >= 0) read up to the log end offset, and their fetch offset tells the leader
how far they are. Whole batches
are sent, at most partition_max_bytes per partition and max_bytes per response, except
that the first partition with data always gets at least one whole batch (KIP-74). With
less than min_bytes available the request waits up to max_wait, woken by appends and
high-watermark moves rather than polling. From v7, fetch sessions (KIP-227,
engine/broker/fetch_sessions.py): a session's fetches carry only what changed and are answered
with only the partitions that have news. current_leader_epoch is checked
(FENCED_LEADER_EPOCH / UNKNOWN_LEADER_EPOCH), and checked again with the leadership each
time a waiting fetch wakes, so one woken by a topic's deletion or a leader change answers
UNKNOWN_TOPIC_OR_PARTITION / NOT_LEADER_OR_FOLLOWER, as Kafka's delayed fetch does.
"""

from __future__ import annotations

import asyncio

from partita.engine.api import fetch_response
from partita.engine.api.registry import api
from partita.engine.broker.partition import now_ms
from partita.engine.log.batch import iter_batches
from partita.engine.log.errors import LogError
from partita.engine.protocol.errors import ErrorCode


class _Slot:
    __slots__ = ("topic", "index", "offset", "max_bytes", "epoch", "partition", "error", "records", "hw", "lso", "start",
                 "aborted")

    def __init__(self, topic, index, offset, max_bytes, epoch):
        self.topic, self.index, self.offset, self.max_bytes, self.epoch = topic, index, offset, max_bytes, epoch
        self.partition = None
        self.error = ErrorCode.none
        self.records = b""
        self.hw = self.lso = self.start = -1
        self.aborted = None  # read_committed: [(producer id, first offset)]


@api(1, 4, 12)
async def handle_fetch(request, ctx):
    broker = ctx.broker
    replica_id = request.replica_id
    is_follower = replica_id >= 0
    read_committed = not is_follower and getattr(request, "isolation_level", 0) == 1
    context = broker.fetch_sessions.context(request)
    if context.error != ErrorCode.none:
        return fetch_response.encode(ctx.api_version, [], error_code=int(context.error))
    slots = [_Slot(*wanted) for wanted in context.wanted]

    max_wait_s = request.max_wait.total_seconds()
    min_bytes = request.min_bytes
    max_bytes = getattr(request, "max_bytes", 0x7FFFFFFF)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait_s
    while True:
        for slot in slots:  # again after each wait: the topic may be gone, the leadership moved
            _check(slot, broker)
        total = _read_all(slots, max_bytes, is_follower, replica_id, broker, read_committed)
        remaining = deadline - loop.time()
        if total >= min_bytes or remaining <= 0 or any(s.error != ErrorCode.none for s in slots):
            break
        waiters = [s.partition.changed() for s in slots if s.partition is not None]
        if not waiters:
            break
        await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    return _response(ctx.api_version, context.answer(slots), context.session_id)


def _check(slot: _Slot, broker) -> None:
    """Point the slot at its partition if this broker leads it at the epoch asked, else set the error."""
    partition = broker.replicas.get(slot.topic, slot.index)
    slot.partition = None
    if partition is None:
        slot.error = (ErrorCode.not_leader_or_follower if broker.metadata.partition(slot.topic, slot.index)
                      else ErrorCode.unknown_topic_or_partition)
    elif not partition.is_leader:
        slot.error = ErrorCode.not_leader_or_follower
    elif slot.epoch >= 0 and slot.epoch != partition.leader_epoch:
        slot.error = (ErrorCode.fenced_leader_epoch if slot.epoch < partition.leader_epoch
                      else ErrorCode.unknown_leader_epoch)
    else:
        slot.partition = partition


def _read_all(slots, max_bytes, is_follower, replica_id, broker, read_committed) -> int:
    total = 0
    ts = now_ms()
    for slot in slots:
        partition = slot.partition
        if partition is None:
            continue
        plog = partition.log
        if is_follower and partition.record_follower_fetch(replica_id, slot.offset, ts):
            broker.replicas.follower_caught_up(partition, replica_id)
        slot.hw = partition.high_watermark
        slot.lso = partition.last_stable_offset
        slot.start = plog.log_start_offset
        if read_committed:
            slot.aborted = []
        budget = min(slot.max_bytes, max_bytes - total)
        if budget <= 0 and total > 0:
            slot.records = b""
            continue
        upper = None if is_follower else slot.lso if read_committed else slot.hw
        try:
            result = plog.read(slot.offset, max(budget, 1), upper_bound=upper, min_one=(total == 0))
        except LogError as exc:
            slot.error = ErrorCode(exc.code)
            slot.records = b""
            continue
        slot.records = result.records
        if read_committed and result.records:
            candidates = plog.aborted_transactions(slot.offset, slot.lso)
            if candidates:  # usually none: only then are the batch headers walked
                end = _end_of(result.records)
                slot.aborted = [(a.producer_id, a.first_offset) for a in candidates if a.first_offset < end]
        total += len(slot.records)
    return total


def _end_of(records: bytes) -> int:
    """The offset after the last batch of a read."""
    end = 0
    for _, header in iter_batches(records):
        end = header.next_offset
    return end


def _response(version, slots, session_id: int) -> list:
    by_topic: dict[str, list[tuple]] = {}
    for s in slots:
        by_topic.setdefault(s.topic, []).append((s.index, int(s.error), s.hw, s.lso, s.start, s.records, s.aborted))
    return fetch_response.encode(version, list(by_topic.items()), session_id=session_id)
