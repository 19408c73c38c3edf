"""One hosted partition replica: its log, its role, and — as leader — its followers.

The leader tracks each follower's log end offset from the offsets it fetches at, and
keeps the high watermark at the minimum log end offset over the ISR. A follower that has
not caught up to the leader's end offset within replica.lag.time.max.ms is proposed for
removal from the ISR; one that catches up is proposed for re-entry. Proposals go to the
controller (AlterPartition); the ISR changes when the controller's new image arrives.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from partita.engine.cluster.metadata import PartitionState


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class FollowerState:
    log_end_offset: int = -1
    last_caught_up_ms: int = 0
    last_fetch_ms: int = 0


class Partition:
    def __init__(self, topic: str, index: int, log, node_id: int):
        self.topic = topic
        self.index = index
        self.log = log
        self.node_id = node_id
        self.state: PartitionState | None = None
        self.high_watermark = 0
        self.followers: dict[int, FollowerState] = {}
        self.isr_change_in_flight = False
        # Replicas proposed for the ISR but not yet confirmed by the controller. Until then the
        # high watermark waits for them too (Kafka's "maximal ISR"): a reassignment may complete
        # the moment they join, and they must not lack anything already acknowledged.
        self.pending_isr: frozenset[int] = frozenset()
        self.min_insync_replicas = 1  # the topic's effective setting, kept current by the ReplicaManager
        self._changed: asyncio.Future | None = None
        self._hw_waiters: list[tuple[int, asyncio.Future]] = []

    # -- role -----------------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.state is not None and self.state.leader == self.node_id

    @property
    def effective_min_isr(self) -> int:
        """min.insync.replicas, but never more than the partition's replicas (Kafka 4's
        effectiveMinIsr): a setting above the replication factor does not refuse every acks=all write."""
        if self.state is None:
            return self.min_insync_replicas
        return min(self.min_insync_replicas, len(self.state.replicas))

    @property
    def leader_epoch(self) -> int:
        return self.state.leader_epoch if self.state else -1

    def become_leader(self, state: PartitionState, checkpointed_hw: int | None = None) -> None:
        was_leader = self.is_leader
        self.state = state
        leo = self.log.log_end_offset
        if not was_leader:
            ts = now_ms()
            # A new leader does not know its followers' positions yet; they count as caught
            # up "now" so that they are not removed from the ISR before their first fetch.
            self.followers = {r: FollowerState(-1, ts, ts) for r in state.replicas if r != self.node_id}
            if checkpointed_hw is not None:
                self.high_watermark = min(max(self.high_watermark, checkpointed_hw), leo)
        else:
            for r in state.replicas:
                if r != self.node_id and r not in self.followers:
                    self.followers[r] = FollowerState(-1, now_ms(), now_ms())
            for r in list(self.followers):
                if r not in state.replicas:
                    del self.followers[r]
        self.isr_change_in_flight = False
        self.pending_isr = frozenset()
        self.maybe_advance_hw()
        self.notify()

    def become_follower(self, state: PartitionState) -> None:
        self.state = state
        self.followers = {}
        self.isr_change_in_flight = False
        self.pending_isr = frozenset()
        self._fail_hw_waiters()
        self.notify()

    def update_state(self, state: PartitionState) -> None:
        """Same role, new ISR or replicas (an AlterPartition took effect)."""
        if self.is_leader and state.leader == self.node_id:
            self.become_leader(state)
        else:
            self.state = state
            self.isr_change_in_flight = False
            self.pending_isr = frozenset()

    # -- leader ---------------------------------------------------------------------------

    def maybe_advance_hw(self) -> bool:
        if not self.is_leader:
            return False
        leo = self.log.log_end_offset
        candidate = leo
        for r in (*self.state.isr, *self.pending_isr):
            if r == self.node_id:
                continue
            f = self.followers.get(r)
            candidate = min(candidate, f.log_end_offset if f else -1)
        if candidate > self.high_watermark:
            self.high_watermark = candidate
            self._release_hw_waiters()
            self.notify()
            return True
        return False

    @property
    def last_stable_offset(self) -> int:
        """What read_committed consumers may read up to: the high watermark, or the first
        offset of the earliest transaction still open if that is lower."""
        first_unstable = self.log.first_unstable_offset
        hw = self.high_watermark
        return hw if first_unstable is None or first_unstable > hw else first_unstable

    def record_follower_fetch(self, replica_id: int, fetch_offset: int, ts: int) -> bool:
        """Returns True when the follower became eligible to rejoin the ISR."""
        f = self.followers.get(replica_id)
        if f is None:
            f = self.followers[replica_id] = FollowerState()
        moved = fetch_offset != f.log_end_offset
        f.log_end_offset = fetch_offset
        f.last_fetch_ms = ts
        if fetch_offset >= self.log.log_end_offset:
            f.last_caught_up_ms = ts
        if moved:  # appends and ISR changes advance it themselves; an idle fetch cannot
            self.maybe_advance_hw()
        return (
            replica_id not in self.state.isr
            and fetch_offset >= self.high_watermark
            and fetch_offset >= self.log.epoch_start_offset(self.leader_epoch)
        )

    def lagging_followers(self, ts: int, max_lag_ms: int) -> list[int]:
        return [
            r
            for r in self.state.isr
            if r != self.node_id and ts - self.followers.get(r, FollowerState(-1, 0, 0)).last_caught_up_ms > max_lag_ms
        ]

    async def wait_for_hw(self, offset: int, timeout_s: float) -> None:
        """Wait until the high watermark reaches `offset` (acks=all)."""
        if self.high_watermark >= offset:
            return
        future = asyncio.get_running_loop().create_future()
        self._hw_waiters.append((offset, future))
        await asyncio.wait_for(future, timeout_s)

    def _release_hw_waiters(self) -> None:
        if not self._hw_waiters:
            return
        keep = []
        for offset, future in self._hw_waiters:
            if future.done():
                continue
            if self.high_watermark >= offset:
                future.set_result(None)
            else:
                keep.append((offset, future))
        self._hw_waiters = keep

    def _fail_hw_waiters(self) -> None:
        from partita.engine.protocol.errors import ErrorCode, KafkaError

        for _offset, future in self._hw_waiters:
            if not future.done():
                future.set_exception(KafkaError(ErrorCode.not_leader_or_follower))
        self._hw_waiters = []

    # -- wake-ups for long-polling fetches --------------------------------------------------

    def changed(self) -> asyncio.Future:
        """A future resolved at the next append or high-watermark move."""
        if self._changed is None or self._changed.done():
            self._changed = asyncio.get_running_loop().create_future()
        return self._changed

    def notify(self) -> None:
        if self._changed is not None and not self._changed.done():
            self._changed.set_result(None)
