"""The broker's group coordinator: `__consumer_offsets` partitions in, group state out.

The broker creates one at start (`Broker._attach_coordinators`) and hands it every metadata
image. For each `__consumer_offsets` partition this broker leads, the coordinator reads
the partition's log from its start to its end and replays the offset and group records
(answering COORDINATOR_LOAD_IN_PROGRESS meanwhile); when leadership moves away, the
partition's groups are dropped and anyone waiting is told NOT_COORDINATOR, so clients
find the new coordinator, which loads the same records from its replica.

Writes go into the partition log as the leader, one batch per operation, and count once
the high watermark passes them (acks=all): a commit is acknowledged only when every
in-sync replica has it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable

from partita.engine.groups.hashing import OFFSETS_TOPIC
from partita.engine.groups.manager import GroupConfig, GroupManager, Records
from partita.engine.protocol.errors import ErrorCode, KafkaError

log = logging.getLogger(__name__)

LOAD_CHUNK_BYTES = 1 << 20


class LogStore:
    """Appends coordinator records to a partition of `topic` (`__consumer_offsets` or
    `__transaction_state`) this broker leads."""

    def __init__(self, broker, topic: str = OFFSETS_TOPIC):
        self.broker = broker
        self.topic = topic

    def append(self, partition: int, records: Records, timeout_ms: int,
               producer: tuple[int, int] | None = None) -> Awaitable[int]:
        """Append now (so the log's order is the order of calls); the awaitable resolves
        with the first record's offset once the high watermark has passed the batch.
        `producer` (id, epoch) makes it a transactional batch of that producer."""
        from partita.engine.broker.partition import now_ms
        from partita.engine.log.errors import LogError
        from partita.engine.log.records import build_batch

        topic = self.topic
        replica = self.broker.replicas.get(topic, partition)
        if replica is None or not replica.is_leader:
            return _fail(KafkaError(ErrorCode.not_coordinator, f"not the leader of {topic}-{partition}"))
        ts = now_ms()
        rows = [(ts, key, value) for key, value in records]
        if producer is None:
            batch = build_batch(rows)
        else:
            batch = build_batch(rows, producer_id=producer[0], producer_epoch=producer[1], transactional=True)
        try:
            appended = replica.log.append_as_leader(batch, replica.leader_epoch, ts, from_client=False)
        except LogError as exc:
            code = ErrorCode(exc.code) if exc.code in ErrorCode._value2member_map_ else ErrorCode.unknown_server_error
            return _fail(KafkaError(code, exc.message))
        replica.maybe_advance_hw()
        replica.notify()
        return self._replicated(replica, appended.base_offset, appended.last_offset + 1, timeout_ms)

    @staticmethod
    async def _replicated(replica, base_offset: int, end_offset: int, timeout_ms: int) -> int:
        try:
            await replica.wait_for_hw(end_offset, timeout_ms / 1000)
        except TimeoutError as exc:
            raise KafkaError(ErrorCode.request_timed_out, "the write was not replicated in time") from exc
        return base_offset


async def _fail(error: KafkaError) -> int:
    raise error


class GroupCoordinator:
    def __init__(self, broker):
        self.broker = broker
        self.manager = GroupManager(LogStore(broker), GroupConfig.from_settings(broker.setting))
        self._loads: dict[int, asyncio.Task] = {}
        self._retention_task: asyncio.Task | None = None
        self._topic_ids = None  # the topics of the image applied last: {topic id: name}
        self._removals: set[asyncio.Task] = set()
        self._closed = False
        if broker.metadata.version > 0:
            self.on_metadata(broker.metadata)

    # -- leadership -------------------------------------------------------------------------

    def on_metadata(self, image) -> None:
        if self._closed:
            return
        manager = self.manager
        manager.config = GroupConfig.from_settings(self.broker.setting)
        topic = image.topics.get(OFFSETS_TOPIC)
        count = len(topic.partitions) if topic is not None else 0
        if count != manager.partition_count and manager.partition_count:
            # The topic was recreated with another size: every group may hash elsewhere.
            for p in list(manager.shards):
                self._unload(p)
        manager.partition_count = count
        leading = image.led_by(OFFSETS_TOPIC, self.broker.node_id)
        for p in list(manager.shards):
            if p not in leading:
                self._unload(p)
        for p in sorted(leading):
            if p not in manager.shards:
                manager.begin_load(p)
                self._loads[p] = asyncio.get_running_loop().create_task(self._load(p))
        if self._retention_task is None and topic is not None:
            self._retention_task = asyncio.get_running_loop().create_task(self._retention())
        self._forget_deleted_topics(image)

    def _forget_deleted_topics(self, image) -> None:
        """Offsets committed to a topic that is gone (by id: deleted, or deleted and created again)
        are removed from the groups, as Kafka's coordinator does when topics are deleted."""
        previous, self._topic_ids = self._topic_ids, image.topic_ids
        if previous is None or previous is image.topic_ids:
            return
        deleted = frozenset(name for topic_id, name in previous.items() if topic_id not in image.topic_ids)
        if deleted:
            task = asyncio.get_running_loop().create_task(self._remove_offsets(deleted))
            self._removals.add(task)
            task.add_done_callback(self._removals.discard)

    async def _remove_offsets(self, topics: frozenset[str]) -> None:
        try:
            await self.manager.remove_offsets_of_deleted_topics(topics)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("removing the offsets of deleted topics %s failed", sorted(topics))

    def _unload(self, partition: int) -> None:
        task = self._loads.pop(partition, None)
        if task is not None:
            task.cancel()
        self.manager.unload(partition)
        log.info("no longer coordinating the groups of %s-%d", OFFSETS_TOPIC, partition)

    async def _load(self, partition: int) -> None:
        try:
            await asyncio.sleep(0)
            while True:
                try:
                    self._replay_log(partition)
                    break
                except Exception:
                    # Answer COORDINATOR_LOAD_IN_PROGRESS meanwhile; the log may be recovering.
                    log.exception("loading %s-%d failed; retrying", OFFSETS_TOPIC, partition)
                    self.manager.begin_load(partition)
                    await asyncio.sleep(1.0)
            if self._loads.get(partition) is asyncio.current_task():
                self.manager.finish_load(partition)
        finally:
            if self._loads.get(partition) is asyncio.current_task():
                del self._loads[partition]

    def _replay_log(self, partition: int) -> None:
        """Replay the partition's records, from its log start to its end, into the manager.

        Synchronous: nothing else may write to the partition (this broker refuses group
        requests for it until loaded) and the reads are local file reads.
        """
        from partita.engine.log.batch import LOG_OVERHEAD, iter_batches
        from partita.engine.log.control_batches import read_marker
        from partita.engine.log.records import iter_records

        replica = self.broker.replicas.get(OFFSETS_TOPIC, partition)
        if replica is None:
            raise RuntimeError(f"no replica of {OFFSETS_TOPIC}-{partition} on this broker")
        plog = replica.log
        offset, end = plog.log_start_offset, plog.log_end_offset
        while offset < end:
            data = plog.read(offset, LOAD_CHUNK_BYTES, upper_bound=end).records
            if not data:
                break
            start = offset
            view = memoryview(data)
            for pos, header in iter_batches(data):
                next_offset = header.base_offset + header.last_offset_delta + 1
                if next_offset <= offset:
                    continue
                batch = view[pos : pos + header.length + LOG_OVERHEAD]
                if header.is_control:  # a transaction's marker: its offset commits apply or vanish
                    marker = read_marker(batch)
                    if marker is not None and header.producer_id >= 0:
                        self.manager.replay_marker(partition, header.producer_id, committed=not marker[0])
                else:
                    producer_id = header.producer_id if header.is_transactional else -1
                    for r in iter_records(batch):
                        if r.offset >= offset and r.key is not None:
                            self.manager.replay(partition, r.key, r.value, r.offset, producer_id)
                offset = next_offset
            if offset == start:
                raise RuntimeError(f"no progress reading {OFFSETS_TOPIC}-{partition} at offset {offset}")

    # -- retention --------------------------------------------------------------------------

    async def _retention(self) -> None:
        while True:
            await asyncio.sleep(max(self.manager.config.offsets_retention_check_interval_ms, 100) / 1000)
            try:
                await self.manager.expire_offsets()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("offset expiration failed")

    # -- shutdown ---------------------------------------------------------------------------

    async def close(self) -> None:
        self._closed = True
        for task in list(self._loads.values()):
            task.cancel()
        self._loads.clear()
        if self._retention_task is not None:
            self._retention_task.cancel()
        for task in list(self._removals):
            task.cancel()
        self.manager.unload_all()


def manager_of(ctx) -> GroupManager | None:
    """The group manager of the broker serving `ctx`, or None (no coordinator attached)."""
    coordinator = getattr(ctx.broker, "groups", None)
    return coordinator.manager if isinstance(coordinator, GroupCoordinator) else None


def client_host(ctx) -> str:
    """The client's address as Kafka reports it (InetAddress.toString: "/127.0.0.1")."""
    host = ctx.peer.rsplit(":", 1)[0] if ":" in ctx.peer else ctx.peer
    return "/" + host.strip("[]")


def millis(value) -> int:
    """A kio duration field (timedelta) or plain number as integer milliseconds."""
    if value is None:
        return -1
    if hasattr(value, "total_seconds"):
        return round(value.total_seconds() * 1000)
    return int(value)
