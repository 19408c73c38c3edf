"""Followers fetch from leaders, as Kafka's replica fetchers do: one task per leader broker.

A follower sends Fetch with its replica id; the leader learns the follower's log end
offset from the fetch offset. After a leader change the follower first asks the new
leader where its last epoch ends (OffsetForLeaderEpoch) and truncates anything past that,
so replicas never diverge. Movement of replicas being added by a reassignment is limited
to the replication throttle Kafka would apply (engine/broker/replication_throttle.py: a rate,
and the topic listing the replica in its *.throttled.replicas).

Fetches go through a fetch session (KIP-227), as Kafka's replica fetchers do: after the first
full fetch, a fetch carries only the partitions whose fetch position changed and those to
forget, and the leader answers only partitions with news, so an idle follower of thousands
of partitions sends and parses almost nothing. A session the leader no longer knows (it
restarted) or whose epoch went astray (a lost answer) is replaced by a new full fetch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from kio.schema.fetch.v12 import request as fetch_req
from kio.schema.offset_for_leader_epoch.v4 import request as ofle_req

from partita.engine.broker.fetch_sessions import INITIAL_EPOCH, next_epoch
from partita.engine.broker.kafka_client import KafkaConnection
from partita.engine.broker.replication_throttle import any_rate_set, throttle_rate
from partita.engine.protocol.errors import ErrorCode

log = logging.getLogger(__name__)
FETCH_VERSION = 12
OFLE_VERSION = 4
UNLIMITED = 2**63 - 1


class FetcherManager:
    def __init__(self, broker):
        self.broker = broker
        self.fetchers: dict[int, LeaderFetcher] = {}

    def reconcile(self, replicas) -> None:
        wanted: dict[int, set[tuple[str, int]]] = {}
        for key, partition in replicas.partitions.items():
            state = partition.state
            if state is None or state.leader in (-1, self.broker.config.node_id):
                continue
            wanted.setdefault(state.leader, set()).add(key)
        for leader_id, fetcher in list(self.fetchers.items()):
            keep = wanted.get(leader_id, set())
            fetcher.set_partitions(keep)
            if not keep:
                fetcher.stop()
                del self.fetchers[leader_id]
        for leader_id, keys in wanted.items():
            if leader_id not in self.fetchers:
                self.fetchers[leader_id] = LeaderFetcher(self.broker, leader_id)
                self.fetchers[leader_id].set_partitions(keys)

    def remove(self, key) -> None:
        for fetcher in self.fetchers.values():
            fetcher.partitions.pop(key, None)

    def stop(self) -> None:
        for fetcher in self.fetchers.values():
            fetcher.stop()
        self.fetchers.clear()


class LeaderFetcher:
    def __init__(self, broker, leader_id: int):
        self.broker = broker
        self.leader_id = leader_id
        # key -> leader epoch this follower last truncated for (None: must truncate first)
        self.partitions: dict[tuple[str, int], int | None] = {}
        self.wake = asyncio.Event()
        self.stopped = False
        self.task = asyncio.get_running_loop().create_task(self._run())
        self.conn: KafkaConnection | None = None
        self._throttle_window_start = time.monotonic()
        self._throttle_bytes = 0
        self.session = FetchSessionState()

    def set_partitions(self, keys: set) -> None:
        for key in list(self.partitions):
            if key not in keys:
                del self.partitions[key]
        for key in keys:
            partition = self.broker.replicas.get(*key)
            epoch = partition.leader_epoch if partition else None
            if self.partitions.get(key, -2) != epoch:
                self.partitions[key] = None  # new leader epoch: truncate before fetching
        self.wake.set()

    def stop(self) -> None:
        # The flag as well as the cancel: Python 3.11's wait_for can swallow a cancellation that
        # races a reply (a stopped fetcher then went on to wait forever, and was later collected
        # with "Task was destroyed but it is pending"); the loop ends at its next turn either way.
        self.stopped = True
        self.partitions.clear()
        self.wake.set()
        self.task.cancel()
        if self.conn:
            self.conn.close()

    async def _connect(self) -> KafkaConnection:
        info = self.broker.metadata.brokers.get(self.leader_id)
        if info is None or not info.alive:
            raise ConnectionError(f"leader {self.leader_id} is not alive")
        return await KafkaConnection.open(info.host, info.port, f"partita-replica-{self.broker.config.node_id}")

    async def _run(self) -> None:
        backoff = 0.05
        while not self.stopped:
            try:
                if not self.partitions:
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                if self.conn is None:
                    self.conn = await self._connect()
                await self._truncate_where_needed()
                await self._fetch_once()
                backoff = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.debug("fetcher for leader %d: %s", self.leader_id, exc)
                self.session.start_over()  # the answer may have been lost: its epoch is unknown
                if self.conn:
                    self.conn.close()
                    self.conn = None
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 1.0)

    async def _truncate_where_needed(self) -> None:
        pending = [k for k, epoch in self.partitions.items() if epoch is None]
        if not pending:
            return
        topics: dict[str, list] = {}
        for topic, index in pending:
            partition = self.broker.replicas.get(topic, index)
            if partition is None:
                continue
            latest = partition.log.latest_epoch
            topics.setdefault(topic, []).append(
                ofle_req.OffsetForLeaderPartition(
                    partition=index,
                    current_leader_epoch=partition.leader_epoch,
                    leader_epoch=latest if latest is not None and latest >= 0 else -1,
                )
            )
        request = ofle_req.OffsetForLeaderEpochRequest(
            replica_id=self.broker.config.node_id,
            topics=tuple(ofle_req.OffsetForLeaderTopic(topic=t, partitions=tuple(ps)) for t, ps in topics.items()),
        )
        response = await self.conn.request(23, OFLE_VERSION, request)
        for t in response.topics:
            for p in t.partitions:
                key = (t.topic, p.partition)
                partition = self.broker.replicas.get(*key)
                if partition is None or key not in self.partitions:
                    continue
                if p.error_code != ErrorCode.none:
                    raise RuntimeError(f"OffsetForLeaderEpoch {key}: {p.error_code.name}")
                plog = partition.log
                if p.leader_epoch >= 0 and p.end_offset >= 0 and p.end_offset < plog.log_end_offset:
                    log.info("truncating %s-%d from %d to %d (leader epoch %d ends there)",
                             t.topic, p.partition, plog.log_end_offset, p.end_offset, p.leader_epoch)
                    plog.truncate_to(p.end_offset)
                    partition.high_watermark = min(partition.high_watermark, plog.log_end_offset)
                self.partitions[key] = partition.leader_epoch

    async def _fetch_once(self) -> None:
        image = self.broker.metadata
        me = self.broker.config.node_id
        rate = UNLIMITED
        # a rate throttles only the replicas topics list, but without any rate there is nothing to look up
        rates_set = any_rate_set(image)
        max_bytes = int(self.broker.config.setting("replica.fetch.max.bytes", "1048576"))
        wanted: dict[tuple[str, int], tuple] = {}
        throttled_keys = set()
        for key in list(self.partitions):
            partition = self.broker.replicas.get(*key)
            if partition is None or self.partitions.get(key) is None:
                continue
            part_max = max_bytes
            limit = throttle_rate(image, key[0], key[1], me) if rates_set else None
            if limit is not None:
                throttled_keys.add(key)
                rate = min(rate, limit)  # one fetch, one pause: held to the lowest rate among its throttled partitions
                part_max = max(1, min(max_bytes, limit // 10))
            wanted[key] = (partition.leader_epoch, partition.log.log_end_offset, partition.log.log_start_offset,
                           part_max)
        if not wanted:
            await asyncio.sleep(0.05)
            return
        to_send, forgotten = self.session.changes(wanted)
        topics: dict[str, list] = {}
        for (topic, index), (leader_epoch, offset, log_start, part_max) in to_send.items():
            topics.setdefault(topic, []).append(fetch_req.FetchPartition(
                partition=index, current_leader_epoch=leader_epoch, fetch_offset=offset, last_fetched_epoch=-1,
                log_start_offset=log_start, partition_max_bytes=part_max))
        gone: dict[str, list[int]] = {}
        for topic, index in forgotten:
            gone.setdefault(topic, []).append(index)
        request = fetch_req.FetchRequest(
            cluster_id=None,
            replica_id=self.broker.config.node_id,
            max_wait=timedelta(milliseconds=500),
            min_bytes=1,
            max_bytes=0x7FFFFFFF,
            isolation_level=0,
            session_id=self.session.id,
            session_epoch=self.session.epoch,
            topics=tuple(fetch_req.FetchTopic(topic=t, partitions=tuple(ps)) for t, ps in topics.items()),
            forgotten_topics_data=tuple(fetch_req.ForgottenTopic(topic=t, partitions=tuple(ps))
                                        for t, ps in gone.items()),
            rack_id="",
        )
        response = await self.conn.request(1, FETCH_VERSION, request)
        if response.error_code in (ErrorCode.fetch_session_id_not_found, ErrorCode.invalid_fetch_session_epoch):
            log.info("fetch session with leader %d: %s; starting a new one", self.leader_id, response.error_code.name)
            self.session.start_over(close_existing=False)
            return
        if response.error_code != ErrorCode.none:
            raise RuntimeError(f"fetch from leader {self.leader_id}: {response.error_code.name}")
        self.session.answered(response.session_id)
        throttled_bytes = 0
        for t in response.responses:
            for p in t.partitions:
                key = (t.topic, p.partition_index)
                partition = self.broker.replicas.get(*key)
                if partition is None or key not in self.partitions:
                    continue
                self._apply(partition, key, p)
                if key in throttled_keys and p.records:
                    throttled_bytes += len(p.records)
        if throttled_bytes:
            await self._throttle(throttled_bytes, rate)

    def _apply(self, partition, key, p) -> None:
        plog = partition.log
        code = p.error_code
        if code == ErrorCode.none:
            if p.records:
                plog.append_as_follower(bytes(p.records))
                partition.notify()
            if p.log_start_offset > plog.log_start_offset and p.log_start_offset <= plog.log_end_offset:
                plog.delete_records_before(p.log_start_offset)
            partition.high_watermark = min(p.high_watermark, plog.log_end_offset)
        elif code == ErrorCode.offset_out_of_range:
            if plog.log_end_offset > p.high_watermark >= 0:
                plog.truncate_to(max(p.high_watermark, plog.log_start_offset))
            else:
                log.info("%s-%d: restarting at the leader's log start offset %d", *key, p.log_start_offset)
                plog.truncate_fully_and_start_at(max(p.log_start_offset, 0))
        elif code in (ErrorCode.fenced_leader_epoch, ErrorCode.unknown_leader_epoch,
                      ErrorCode.not_leader_or_follower, ErrorCode.unknown_topic_or_partition):
            pass  # our metadata or the leader's is stale; the next image sorts it out
        else:
            log.warning("fetch of %s-%d from leader %d: %s", *key, self.leader_id, code.name)

    async def _throttle(self, nbytes: int, rate: int) -> None:
        now = time.monotonic()
        if now - self._throttle_window_start > 1.0:
            self._throttle_window_start, self._throttle_bytes = now, 0
        self._throttle_bytes += nbytes
        allowed_at = self._throttle_window_start + self._throttle_bytes / rate
        if allowed_at > now:
            await asyncio.sleep(allowed_at - now)


class FetchSessionState:
    """A follower's side of its fetch session with one leader (Kafka's FetchSessionHandler):
    what it last sent for each partition, the session id and the epoch of the next fetch."""

    def __init__(self):
        self.id = 0
        self.epoch = INITIAL_EPOCH
        self.sent: dict[tuple[str, int], tuple] = {}

    def changes(self, wanted: dict[tuple[str, int], tuple]) -> tuple[dict, list]:
        """(partitions to send, partitions to forget) for the next fetch: everything in a full
        one, only what is new or changed since last sent in an incremental one."""
        if self.epoch == INITIAL_EPOCH:
            self.sent = dict(wanted)
            return wanted, []
        forgotten = [key for key in self.sent if key not in wanted]
        for key in forgotten:
            del self.sent[key]
        to_send = {key: value for key, value in wanted.items() if self.sent.get(key) != value}
        self.sent.update(to_send)
        return to_send, forgotten

    def answered(self, session_id: int) -> None:
        if self.epoch == INITIAL_EPOCH:
            self.id = session_id
            self.epoch = 1 if session_id else INITIAL_EPOCH  # none given: full fetches go on
        else:
            self.epoch = next_epoch(self.epoch)

    def start_over(self, close_existing: bool = True) -> None:
        """The next fetch is a full one; with close_existing it also frees the old session."""
        if not close_existing:
            self.id = 0
        self.epoch = INITIAL_EPOCH
        self.sent = {}
