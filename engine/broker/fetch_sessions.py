"""Incremental fetch sessions (KIP-227), kept as Kafka's FetchManager keeps them.

A client opens a session with session id 0 and epoch 0: its full fetch becomes the session's
partition list and the answer carries a new session id. Its next fetches name the session and
the next epoch and carry only the partitions that changed (fetch offset, max bytes, leader
epoch, log start offset) and those to forget; the broker reads every partition of the session
and answers only those with something new: records, a changed high watermark, last stable
offset or log start offset, or an error (an errored partition is answered again once the
error is gone). Epoch -1 closes the named session and fetches without one; a non-zero id
with epoch 0 closes it and opens another. An unknown id is FETCH_SESSION_ID_NOT_FOUND, a
wrong epoch INVALID_FETCH_SESSION_EPOCH, both at the top level: the client starts over with
a full fetch. Up to max.incremental.fetch.session.cache.slots sessions are kept; when they are
all taken, a new session replaces one unused for two minutes, else the least valuable one
(a consumer's before a follower's, then the smallest) if the new one is worth more, else it is
not opened (the client goes on with full fetches), as Kafka's cache decides. A session
outlives its connection, as in Kafka. Partitions that
returned records move to the end of the session's order, so that an answer cut short by
max_bytes serves the others first next time.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from dataclasses import dataclass

from partita.engine.protocol.errors import ErrorCode

INITIAL_EPOCH = 0
FINAL_EPOCH = -1
_MAX_EPOCH = 2**31 - 1
EVICTABLE_AFTER_S = 120.0  # Kafka's min.incremental.fetch.session.eviction.ms


def next_epoch(epoch: int) -> int:
    """The epoch after `epoch` (it wraps to 1, never to the initial or final epoch)."""
    return 1 if epoch == _MAX_EPOCH else epoch + 1


@dataclass(slots=True)
class SessionPartition:
    fetch_offset: int
    max_bytes: int
    leader_epoch: int
    # what the client was last told; a change is a reason to answer the partition again
    hw: int = -1
    lso: int = -1
    start: int = -1


class FetchSession:
    __slots__ = ("id", "epoch", "partitions", "privileged", "last_used")

    def __init__(self, session_id: int, privileged: bool):
        self.id = session_id
        self.epoch = 1  # the epoch the client's next fetch must carry
        self.partitions: dict[tuple[str, int], SessionPartition] = {}
        self.privileged = privileged  # a follower's: replication depends on it
        self.last_used = time.monotonic()

    def worth(self) -> tuple[bool, int]:
        return self.privileged, len(self.partitions)


class FetchContext:
    """What one Fetch works on (its partitions, in order) and how its answer is shaped."""

    def __init__(self, cache: FetchSessionCache | None, wanted, session: FetchSession | None = None,
                 error: ErrorCode = ErrorCode.none, privileged: bool = False):
        self._cache = cache  # set when the answer should open a session
        self._privileged = privileged
        self.wanted = wanted  # [(topic, index, fetch_offset, max_bytes, leader_epoch)]
        self.session = session  # an incremental fetch's session
        self.error = error
        self.session_id = session.id if session is not None else 0

    def answer(self, slots: list) -> list:
        """The slots (k01_fetch._Slot, read) to put in the answer; records what the client
        was told in the session."""
        if self._cache is not None:
            session = self._cache.open(slots, self._privileged)
            self.session_id = session.id if session is not None else 0
            return slots
        if self.session is None:
            return slots
        answered, moved = [], []
        for slot in slots:
            cached = self.session.partitions.get((slot.topic, slot.index))
            if cached is None:
                continue
            must = bool(slot.records) or slot.error != ErrorCode.none
            if slot.hw != cached.hw or slot.lso != cached.lso or slot.start != cached.start:
                must = True
            cached.hw = -1 if slot.error != ErrorCode.none else slot.hw
            cached.lso, cached.start = slot.lso, slot.start
            if must:
                answered.append(slot)
            if slot.records:
                moved.append((slot.topic, slot.index))
        for key in moved:
            self.session.partitions[key] = self.session.partitions.pop(key)
        return answered


class FetchSessionCache:
    """The broker's fetch sessions; the Fetch handler is their only user."""

    def __init__(self, slots: int):
        self.slots = slots
        self._sessions: OrderedDict[int, FetchSession] = OrderedDict()  # least recently used first

    def __len__(self) -> int:
        return len(self._sessions)

    def context(self, request) -> FetchContext:
        session_id = getattr(request, "session_id", 0)
        epoch = getattr(request, "session_epoch", FINAL_EPOCH)
        wanted = [(t.topic, p.partition, p.fetch_offset, p.partition_max_bytes,
                   getattr(p, "current_leader_epoch", -1)) for t in request.topics for p in t.partitions]
        if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            if session_id:
                self._sessions.pop(session_id, None)
            return FetchContext(self if epoch == INITIAL_EPOCH and self.slots > 0 else None, wanted,
                                privileged=getattr(request, "replica_id", -1) >= 0)
        session = self._sessions.get(session_id)
        if session is None:
            return FetchContext(None, [], error=ErrorCode.fetch_session_id_not_found)
        if epoch != session.epoch:
            return FetchContext(None, [], error=ErrorCode.invalid_fetch_session_epoch)
        session.epoch = next_epoch(session.epoch)
        session.last_used = time.monotonic()
        self._sessions.move_to_end(session_id)
        for t in getattr(request, "forgotten_topics_data", ()) or ():
            for index in t.partitions:
                session.partitions.pop((t.topic, index), None)
        for topic, index, offset, max_bytes, leader_epoch in wanted:
            cached = session.partitions.get((topic, index))
            if cached is None:
                session.partitions[(topic, index)] = SessionPartition(offset, max_bytes, leader_epoch)
            else:
                cached.fetch_offset, cached.max_bytes, cached.leader_epoch = offset, max_bytes, leader_epoch
        every = [(topic, index, p.fetch_offset, p.max_bytes, p.leader_epoch)
                 for (topic, index), p in session.partitions.items()]
        return FetchContext(None, every, session=session)

    def open(self, slots, privileged: bool = False) -> FetchSession | None:
        """A new session holding the partitions of a full fetch, as answered; None when no slot
        can be had for it."""
        if self.slots <= 0:
            return None
        if len(self._sessions) >= self.slots and not self._evict_for((privileged, len(slots))):
            return None
        session_id = 0
        while session_id == 0 or session_id in self._sessions:
            session_id = random.randint(1, _MAX_EPOCH)
        session = FetchSession(session_id, privileged)
        for slot in slots:
            session.partitions[(slot.topic, slot.index)] = SessionPartition(
                slot.offset, slot.max_bytes, slot.epoch,
                -1 if slot.error != ErrorCode.none else slot.hw, slot.lso, slot.start)
        self._sessions[session_id] = session
        return session

    def _evict_for(self, worth: tuple[bool, int]) -> bool:
        """Free a slot for a session worth `worth`: the least recently used if it has been idle
        long enough, else the least valuable if the new one is worth more."""
        oldest = next(iter(self._sessions.values()))
        if time.monotonic() - oldest.last_used > EVICTABLE_AFTER_S:
            del self._sessions[oldest.id]
            return True
        cheapest = min(self._sessions.values(), key=FetchSession.worth)
        if worth > cheapest.worth():
            del self._sessions[cheapest.id]
            return True
        return False
