"""The broker's transaction coordinator (Kafka's TransactionCoordinator, transaction version 1).

The coordinator of a transactional id is the leader of its `__transaction_state` partition.
Like the group coordinator, it loads each partition it comes to lead by replaying the
partition's records (answering COORDINATOR_LOAD_IN_PROGRESS meanwhile) and drops them when
leadership moves. Every state change is written there first (acks=all) and applied once
replicated, so a new coordinator carries on where the old one stopped: a transaction found
in PrepareCommit or PrepareAbort gets its markers sent again.

Ending a transaction is two-phase, as in Kafka: EndTxn writes PrepareCommit/PrepareAbort and
answers; then the markers go to the leaders of every partition in the transaction
(WriteTxnMarkers, retried until each partition has one or its topic is gone) and
CompleteCommit/CompleteAbort is written. Until then the id's requests answer
CONCURRENT_TRANSACTIONS, which clients retry.

A transaction open longer than its timeout is aborted by the coordinator (checked every
transaction.abort.timed.out.transaction.cleanup.interval.ms) with the producer's epoch
bumped, so the producer is fenced; a second producer calling InitProducerId with the same
id does the same to an open transaction of the first. An id with no transaction open and
no change for transactional.id.expiration.ms is forgotten (a tombstone in
`__transaction_state`; checked every transaction.remove.expired.transaction.cleanup.interval.ms),
as Kafka expires them. Not implemented: transaction version 2 (KIP-890 part 2) and the
partition verification of KIP-890 part 1.
"""

from __future__ import annotations

import asyncio
import logging
import time

from partita.engine.groups.coordinator import LogStore
from partita.engine.groups.hashing import partition_for
from partita.engine.protocol.errors import ErrorCode, KafkaError
from partita.engine.transactions import records as rec
from partita.engine.transactions.markers import MarkerSender
from partita.engine.transactions.records import TRANSACTION_STATE_TOPIC
from partita.engine.transactions.state import COMPLETED, PREPARING, TxnMetadata, TxnState

log = logging.getLogger(__name__)

E = ErrorCode
MAX_EPOCH = 32767  # Short.MAX_VALUE: an epoch must stay below it
LOADING, ACTIVE = "loading", "active"
WRITE_TIMEOUT_MS = 30000


def now_ms() -> int:
    return int(time.time() * 1000)


class TransactionCoordinator:
    def __init__(self, broker):
        self.broker = broker
        self.store = LogStore(broker, TRANSACTION_STATE_TOPIC)
        self.markers = MarkerSender(broker)
        self.txns: dict[str, TxnMetadata] = {}
        self.partition_count = 0
        self.shards: dict[int, str] = {}
        self.coordinator_epochs: dict[int, int] = {}
        self._generations: dict[int, int] = {}  # moves on each load/unload: work started before stops
        self._loads: dict[int, asyncio.Task] = {}
        self._tasks: set[asyncio.Task] = set()
        self._timeouts: asyncio.Task | None = None
        self._expiry: asyncio.Task | None = None
        self._closed = False
        if broker.metadata.version > 0:
            self.on_metadata(broker.metadata)

    # -- leadership -------------------------------------------------------------------------

    def on_metadata(self, image) -> None:
        if self._closed:
            return
        topic = image.topics.get(TRANSACTION_STATE_TOPIC)
        count = len(topic.partitions) if topic is not None else 0
        if count != self.partition_count and self.partition_count:
            for p in list(self.shards):
                self._unload(p)
        self.partition_count = count
        leading = image.led_by(TRANSACTION_STATE_TOPIC, self.broker.node_id)
        for p in list(self.shards):
            if p not in leading:
                self._unload(p)
        for p, epoch in sorted(leading.items()):
            if p not in self.shards or self.coordinator_epochs.get(p) != epoch:
                if p in self.shards:
                    self._unload(p)
                self.coordinator_epochs[p] = epoch
                self.shards[p] = LOADING
                self._generations[p] = self._generations.get(p, 0) + 1
                self._loads[p] = asyncio.get_running_loop().create_task(self._load(p))
        if self._timeouts is None and topic is not None:
            self._timeouts = asyncio.get_running_loop().create_task(self._abort_timed_out())
            self._expiry = asyncio.get_running_loop().create_task(self._expire_idle_ids())

    def _unload(self, partition: int) -> None:
        task = self._loads.pop(partition, None)
        if task is not None:
            task.cancel()
        self.shards.pop(partition, None)
        self.coordinator_epochs.pop(partition, None)
        self._generations[partition] = self._generations.get(partition, 0) + 1
        for txn_id in [t for t in self.txns if self.partition_of(t) == partition]:
            del self.txns[txn_id]
        log.info("no longer coordinating the transactions of %s-%d", TRANSACTION_STATE_TOPIC, partition)

    async def _load(self, partition: int) -> None:
        generation = self._generations[partition]
        try:
            await asyncio.sleep(0)
            while True:
                try:
                    loaded = self._replay_log(partition)
                    break
                except Exception:
                    log.exception("loading %s-%d failed; retrying", TRANSACTION_STATE_TOPIC, partition)
                    await asyncio.sleep(1.0)
            if self._generations.get(partition) != generation:
                return
            self.txns.update(loaded)
            self.shards[partition] = ACTIVE
            if loaded:
                log.info("loaded %s-%d: %d transactional ids", TRANSACTION_STATE_TOPIC, partition, len(loaded))
            for meta in loaded.values():
                if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                    self._spawn(self._complete(meta.transactional_id, generation))
        finally:
            if self._loads.get(partition) is asyncio.current_task():
                del self._loads[partition]

    def _replay_log(self, partition: int) -> dict[str, TxnMetadata]:
        from partita.engine.log.batch import LOG_OVERHEAD, iter_batches
        from partita.engine.log.records import iter_records

        replica = self.broker.replicas.get(TRANSACTION_STATE_TOPIC, partition)
        if replica is None:
            raise RuntimeError(f"no replica of {TRANSACTION_STATE_TOPIC}-{partition} on this broker")
        plog = replica.log
        found: dict[str, TxnMetadata] = {}
        offset, end = plog.log_start_offset, plog.log_end_offset
        while offset < end:
            data = plog.read(offset, 1 << 20, upper_bound=end).records
            if not data:
                break
            start = offset
            view = memoryview(data)
            for pos, header in iter_batches(data):
                if header.next_offset <= offset:
                    continue
                if not header.is_control:
                    for r in iter_records(view[pos : pos + header.length + LOG_OVERHEAD]):
                        if r.offset >= offset and r.key is not None:
                            self._replay_record(found, r.key, r.value, partition, r.offset)
                offset = header.next_offset
            if offset == start:
                raise RuntimeError(f"no progress reading {TRANSACTION_STATE_TOPIC}-{partition} at offset {offset}")
        return found

    @staticmethod
    def _replay_record(found: dict, key: bytes, value: bytes | None, partition: int, offset: int) -> None:
        try:
            txn_id = rec.decode_key(key)
            if value is None:
                found.pop(txn_id, None)
            else:
                found[txn_id] = TxnMetadata.from_record(txn_id, rec.decode_value(value))
        except (rec.RecordFormatError, ValueError) as exc:
            log.warning("skipping unreadable record at %s-%d offset %d: %s",
                        TRANSACTION_STATE_TOPIC, partition, offset, exc)

    # -- ownership ----------------------------------------------------------------------------

    def partition_of(self, transactional_id: str) -> int:
        return partition_for(transactional_id, self.partition_count) if self.partition_count else -1

    def check(self, transactional_id: str) -> ErrorCode:
        """NONE when this broker coordinates `transactional_id` and has loaded it."""
        if not transactional_id:
            return E.invalid_request
        if self.partition_count <= 0:
            return E.coordinator_not_available
        status = self.shards.get(self.partition_of(transactional_id))
        if status is None:
            return E.not_coordinator
        return E.coordinator_load_in_progress if status == LOADING else E.none

    def _generation_of(self, transactional_id: str) -> int:
        return self._generations.get(self.partition_of(transactional_id), 0)

    async def _write(self, new: TxnMetadata) -> ErrorCode:
        """Write `new` and make it the id's state once replicated (acks=all)."""
        txn_id = new.transactional_id
        partition = self.partition_of(txn_id)
        generation = self._generation_of(txn_id)
        current = self.txns.get(txn_id)
        if current is not None:
            current.writing = True
        try:
            await self.store.append(partition, [(rec.encode_key(txn_id), rec.encode_value(new.to_record()))],
                                    WRITE_TIMEOUT_MS)
        except KafkaError as exc:
            log.warning("could not write the state of transactional id %r: %s", txn_id, exc)
            return E.not_coordinator if exc.code == E.not_coordinator else E.coordinator_not_available
        finally:
            if current is not None:
                current.writing = False
        if self._generation_of(txn_id) != generation or self.shards.get(partition) != ACTIVE:
            return E.not_coordinator
        self.txns[txn_id] = new
        return E.none

    # -- requests ---------------------------------------------------------------------------

    async def init_producer_id(self, txn_id: str, timeout_ms: int, producer_id: int, producer_epoch: int
                               ) -> tuple[ErrorCode, int, int]:
        error = self.check(txn_id)
        if error != E.none:
            return error, -1, -1
        max_timeout = int(self.broker.setting("transaction.max.timeout.ms", "900000"))
        if not 0 < timeout_ms <= max_timeout:
            return E.invalid_transaction_timeout, -1, -1
        meta = self.txns.get(txn_id)
        if meta is None:
            new = TxnMetadata(txn_id, await self.broker.producer_ids.take(), 0, timeout_ms,
                              last_update_ms=now_ms())
            if txn_id in self.txns:  # another InitProducerId got there while we took an id
                return E.concurrent_transactions, -1, -1
            error = await self._write(new)
            return (error, new.producer_id, new.epoch) if error == E.none else (error, -1, -1)
        if meta.writing or meta.state in PREPARING:
            return E.concurrent_transactions, -1, -1
        if producer_id >= 0 and (producer_id != meta.producer_id or producer_epoch != meta.epoch):
            return E.producer_fenced, -1, -1  # KIP-360: only the current producer may bump its own epoch
        if meta.state == TxnState.ONGOING:
            # A new producer with this id: abort the old one's transaction, fencing it first.
            self._spawn_fencing_abort(meta)
            return E.concurrent_transactions, -1, -1
        if meta.epoch + 1 >= MAX_EPOCH - 1:
            new = meta.changed(producer_id=await self.broker.producer_ids.take(), epoch=0)
        else:
            new = meta.changed(epoch=meta.epoch + 1)
        new.timeout_ms, new.state, new.partitions, new.start_ms = timeout_ms, TxnState.EMPTY, set(), -1
        new.last_update_ms = now_ms()
        if self.txns.get(txn_id) is not meta or meta.writing:
            return E.concurrent_transactions, -1, -1
        error = await self._write(new)
        return (error, new.producer_id, new.epoch) if error == E.none else (error, -1, -1)

    def _check_producer(self, txn_id: str, producer_id: int, producer_epoch: int
                        ) -> tuple[ErrorCode, TxnMetadata | None]:
        error = self.check(txn_id)
        if error != E.none:
            return error, None
        meta = self.txns.get(txn_id)
        if meta is None or meta.producer_id != producer_id:
            return E.invalid_producer_id_mapping, None
        if producer_epoch != meta.epoch:
            return E.producer_fenced, None
        if meta.writing or meta.state in PREPARING:
            return E.concurrent_transactions, None
        return E.none, meta

    async def add_partitions(self, txn_id: str, producer_id: int, producer_epoch: int,
                             partitions: set[tuple[str, int]]) -> ErrorCode:
        error, meta = self._check_producer(txn_id, producer_id, producer_epoch)
        if error != E.none:
            return error
        if meta.state == TxnState.ONGOING and partitions <= meta.partitions:
            return E.none
        new = meta.changed(state=TxnState.ONGOING, partitions=meta.partitions | partitions, last_update_ms=now_ms())
        if meta.state != TxnState.ONGOING:
            new.start_ms = new.last_update_ms
            new.partitions = set(partitions)
        return await self._write(new)

    def verify_partitions(self, txn_id: str, producer_id: int, producer_epoch: int,
                          partitions: set[tuple[str, int]]) -> dict[tuple[str, int], ErrorCode]:
        """Whether each partition is in the producer's open transaction (a leader asks before a
        batch may open the transaction there; Kafka's handleVerifyPartitionsInTransaction)."""
        error, meta = self.check(txn_id), self.txns.get(txn_id)
        if error == E.none:
            if meta is None or meta.producer_id != producer_id:
                error = E.invalid_producer_id_mapping
            elif producer_epoch != meta.epoch:
                error = E.producer_fenced
            elif meta.state in PREPARING:
                error = E.concurrent_transactions
        if error != E.none:
            return dict.fromkeys(partitions, error)
        ongoing = meta.partitions if meta.state == TxnState.ONGOING else set()
        return {key: E.none if key in ongoing else E.transaction_abortable for key in partitions}

    async def end_txn(self, txn_id: str, producer_id: int, producer_epoch: int, commit: bool) -> ErrorCode:
        error, meta = self._check_producer(txn_id, producer_id, producer_epoch)
        if error == E.concurrent_transactions and meta is None:
            current = self.txns.get(txn_id)
            if current is not None and current.state in PREPARING:
                wanted = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
                return E.concurrent_transactions if current.state == wanted else E.invalid_txn_state
        if error != E.none:
            return error
        if meta.state == TxnState.COMPLETE_COMMIT:
            return E.none if commit else E.invalid_txn_state  # a retry of the commit that completed
        if meta.state == TxnState.COMPLETE_ABORT:
            return E.invalid_txn_state if commit else E.none
        if meta.state != TxnState.ONGOING:
            return E.invalid_txn_state
        if commit:
            new = meta.changed(state=TxnState.PREPARE_COMMIT, last_update_ms=now_ms())
            error = await self._write(new)
            if error == E.none:
                self._spawn(self._complete(txn_id, self._generation_of(txn_id)))
            return error
        return await self._abort(meta, fence=False)

    def _spawn_fencing_abort(self, meta: TxnMetadata) -> None:
        meta.writing = True  # from now: the requests a retry or the next timeout check make wait
        self._spawn(self._abort(meta, fence=True))

    async def _abort(self, meta: TxnMetadata, fence: bool) -> ErrorCode:
        """PrepareAbort (with the epoch bumped when fencing the producer), then the markers."""
        epoch = meta.epoch + 1 if fence and meta.epoch + 1 < MAX_EPOCH - 1 else meta.epoch
        new = meta.changed(state=TxnState.PREPARE_ABORT, epoch=epoch, last_update_ms=now_ms())
        error = await self._write(new)
        if error == E.none:
            if fence:
                log.info("fenced producer %d of transactional id %r at epoch %d and aborting its transaction",
                         meta.producer_id, meta.transactional_id, epoch)
            self._spawn(self._complete(meta.transactional_id, self._generation_of(meta.transactional_id)))
        return error

    async def _complete(self, txn_id: str, generation: int) -> None:
        """Send the markers of a prepared transaction, then write its completion."""
        while True:
            meta = self.txns.get(txn_id)
            if meta is None or self._generation_of(txn_id) != generation or meta.state not in (
                    TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                return
            commit = meta.state == TxnState.PREPARE_COMMIT
            coordinator_epoch = self.coordinator_epochs.get(self.partition_of(txn_id), 0)
            try:
                done = await self.markers.send(meta.producer_id, meta.epoch, commit, coordinator_epoch,
                                               set(meta.partitions), lambda: self._generation_of(txn_id) == generation)
            except Exception:  # never leave a prepared transaction behind: it holds back read_committed readers
                log.exception("sending the markers of transactional id %r failed; retrying", txn_id)
                await asyncio.sleep(0.5)
                continue
            if not done:
                return  # no longer the coordinator: the next one sends them again
            current = self.txns.get(txn_id)
            if current is not meta or self._generation_of(txn_id) != generation:
                return
            new = meta.changed(state=TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT,
                               partitions=set(), last_update_ms=now_ms())
            if await self._write(new) == E.none:
                return
            await asyncio.sleep(0.5)  # the write failed but we still lead: try again

    # -- timeouts ---------------------------------------------------------------------------

    async def _abort_timed_out(self) -> None:
        while True:
            interval = int(self.broker.setting("transaction.abort.timed.out.transaction.cleanup.interval.ms",
                                               "10000"))
            await asyncio.sleep(max(interval, 10) / 1000)
            now = now_ms()
            for meta in list(self.txns.values()):
                if (meta.state == TxnState.ONGOING and not meta.writing and meta.start_ms >= 0
                        and now - meta.start_ms > meta.timeout_ms):
                    log.info("transaction of %r (producer %d) has been open %d ms, past its timeout of %d ms: "
                             "aborting it", meta.transactional_id, meta.producer_id, now - meta.start_ms,
                             meta.timeout_ms)
                    self._spawn_fencing_abort(meta)

    async def _expire_idle_ids(self) -> None:
        while True:
            interval = int(self.broker.setting("transaction.remove.expired.transaction.cleanup.interval.ms",
                                               "3600000"))
            await asyncio.sleep(max(interval, 10) / 1000)
            expiration = int(self.broker.setting("transactional.id.expiration.ms", "604800000"))
            now = now_ms()
            for meta in list(self.txns.values()):
                if meta.state in COMPLETED and not meta.writing and now - meta.last_update_ms >= expiration:
                    await self._forget(meta)

    async def _forget(self, meta: TxnMetadata) -> None:
        """Write the id's tombstone and drop it, unless it was used meanwhile."""
        txn_id = meta.transactional_id
        generation = self._generation_of(txn_id)
        meta.writing = True
        try:
            await self.store.append(self.partition_of(txn_id), [(rec.encode_key(txn_id), None)], WRITE_TIMEOUT_MS)
        except KafkaError as exc:
            log.warning("could not expire transactional id %r: %s", txn_id, exc)
            return
        finally:
            meta.writing = False
        if self._generation_of(txn_id) == generation and self.txns.get(txn_id) is meta:
            del self.txns[txn_id]
            log.info("expired transactional id %r (producer %d): unused since %d", txn_id, meta.producer_id,
                     meta.last_update_ms)

    # -- admin --------------------------------------------------------------------------------

    def describe(self, txn_id: str) -> tuple[ErrorCode, TxnMetadata | None]:
        error = self.check(txn_id)
        if error != E.none:
            return error, None
        meta = self.txns.get(txn_id)
        return (E.none, meta) if meta is not None else (E.transactional_id_not_found, None)

    def listed(self) -> list[TxnMetadata]:
        """The transactional ids of the partitions this broker has loaded."""
        return [m for t, m in self.txns.items() if self.shards.get(self.partition_of(t)) == ACTIVE]

    # -- plumbing -----------------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def close(self) -> None:
        self._closed = True
        for task in [*self._loads.values(), *self._tasks, *(t for t in (self._timeouts, self._expiry) if t)]:
            task.cancel()
        self._loads.clear()
        self.txns.clear()
        self.shards.clear()
        self.markers.close()

