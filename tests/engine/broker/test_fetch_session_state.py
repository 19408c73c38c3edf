"""Both ends of a fetch session without a network: the follower's record of what it sent, and the
leader's cache of sessions (slots, eviction, epochs)."""

from __future__ import annotations

from types import SimpleNamespace

from partita.engine.broker.fetch_sessions import FetchSessionCache
from partita.engine.broker.replica_fetcher import FetchSessionState
from partita.engine.protocol.errors import ErrorCode


def test_the_follower_sends_everything_once_then_only_changes_and_forgets():
    state = FetchSessionState()
    wanted = {("t", 0): (1, 10, 0, 100), ("t", 1): (1, 20, 0, 100)}
    sent, forgotten = state.changes(wanted)
    assert sent == wanted and forgotten == [] and (state.id, state.epoch) == (0, 0)
    state.answered(77)
    assert (state.id, state.epoch) == (77, 1)
    sent, forgotten = state.changes({("t", 0): (1, 15, 0, 100), ("t", 1): (1, 20, 0, 100)})
    assert sent == {("t", 0): (1, 15, 0, 100)} and forgotten == []
    state.answered(77)
    sent, forgotten = state.changes({("t", 0): (1, 15, 0, 100)})
    assert sent == {} and forgotten == [("t", 1)] and state.epoch == 2
    state.answered(77)
    state.start_over()  # a lost answer: close this session and open another with a full fetch
    assert (state.id, state.epoch) == (77, 0)
    assert state.changes({("t", 0): (1, 15, 0, 100)})[0] == {("t", 0): (1, 15, 0, 100)}
    state.answered(0)  # the leader had no slot: full fetches go on
    assert (state.id, state.epoch) == (0, 0)


def _request(session_id, epoch, partitions=(), forgotten=(), replica_id=-1):
    return SimpleNamespace(
        session_id=session_id, session_epoch=epoch, replica_id=replica_id,
        topics=[SimpleNamespace(topic="t", partitions=[
            SimpleNamespace(partition=p, fetch_offset=0, partition_max_bytes=100, current_leader_epoch=-1)
            for p in partitions])],
        forgotten_topics_data=[SimpleNamespace(topic="t", partitions=list(forgotten))] if forgotten else [])


def _open(cache, partitions=(0,), replica_id=-1):
    context = cache.context(_request(0, 0, partitions, replica_id=replica_id))
    slots = [SimpleNamespace(topic=t, index=i, offset=o, max_bytes=m, epoch=e, error=ErrorCode.none,
                             hw=0, lso=0, start=0, records=b"") for t, i, o, m, e in context.wanted]
    context.answer(slots)
    return context.session_id


def test_a_full_cache_makes_room_only_for_a_session_worth_more_or_in_place_of_an_idle_one():
    """Kafka's eviction: a flood of small consumer sessions does not push out a big or a
    follower's session that is in use; it replaces only what is idle or worth less."""
    cache = FetchSessionCache(slots=2)
    big, small = _open(cache, partitions=(0, 1, 2)), _open(cache)
    assert big and small
    assert _open(cache) == 0  # as small as the smallest, and nothing idle: no session
    assert len(cache) == 2
    bigger = _open(cache, partitions=(0, 1))  # worth more than the 1-partition one: replaces it
    assert bigger and cache.context(_request(small, 1)).error == ErrorCode.fetch_session_id_not_found
    follower = _open(cache, replica_id=2)  # a follower's is worth more than any consumer's
    assert follower and cache.context(_request(bigger, 1)).error == ErrorCode.fetch_session_id_not_found
    assert cache.context(_request(big, 1)).error == ErrorCode.none
    assert cache.context(_request(big, 1)).error == ErrorCode.invalid_fetch_session_epoch
    cache._sessions[follower].last_used -= 121  # unused for over two minutes: anyone may take it
    assert _open(cache) != 0 and cache.context(_request(follower, 1)).error == ErrorCode.fetch_session_id_not_found
    assert _open(FetchSessionCache(slots=0)) == 0  # no slots: sessionless full fetches


def test_an_incremental_fetch_reads_the_whole_session_with_its_changes():
    cache = FetchSessionCache(slots=10)
    session = _open(cache, partitions=(0, 1, 2))
    context = cache.context(_request(session, 1, partitions=(3,), forgotten=(1,)))
    assert [(t, i) for t, i, *_ in context.wanted] == [("t", 0), ("t", 2), ("t", 3)]
    closed = cache.context(_request(session, -1, partitions=(0,)))
    assert closed.session_id == 0 and len(cache) == 0
