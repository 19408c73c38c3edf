"""The KIP-848 pieces without a broker: the server assignors, the reconciliation step
(Kafka's CurrentAssignmentBuilder) and the heartbeat state machine over a GroupManager with an
in-memory store. Timeouts are milliseconds, so everything runs in well under a second."""

from __future__ import annotations

import asyncio
import uuid

from partita.engine.groups.assignors import MemberSpec, range_, uniform
from partita.engine.groups.consumer_protocol import ConsumerGroup, MemberState, reconcile
from partita.engine.protocol.errors import ErrorCode as E
from tests.engine.groups.test_manager import MemoryStore, make_manager, run

T1, T2 = uuid.UUID(int=1), uuid.UUID(int=2)


def counts(result):
    return {m: sum(len(ps) for ps in a.values()) for m, a in result.items()}


def every_partition_once(result, partitions):
    owned = [(t, p) for a in result.values() for t, ps in a.items() for p in ps]
    return sorted(owned, key=str) == sorted(((t, p) for t, n in partitions.items() for p in range(n)), key=str)


def test_uniform_balances_and_keeps_partitions_where_they_are():
    partitions = {T1: 6}
    members = {m: MemberSpec(frozenset({T1})) for m in "abc"}
    first = uniform(members, partitions)
    assert every_partition_once(first, partitions) and set(counts(first).values()) == {2}
    # d joins: each keeps most of what it had, d gets one or two, balance within one
    members = {m: MemberSpec(frozenset({T1}), first[m]) for m in "abc"} | {"d": MemberSpec(frozenset({T1}))}
    second = uniform(members, partitions)
    assert every_partition_once(second, partitions)
    assert sorted(counts(second).values()) == [1, 1, 2, 2]
    assert all(second[m][T1] <= first[m][T1] for m in "abc" if T1 in second[m])
    # c leaves: only its partitions move
    members = {m: MemberSpec(frozenset({T1}), second[m]) for m in "abd"}
    third = uniform(members, partitions)
    assert every_partition_once(third, partitions) and set(counts(third).values()) == {2}
    assert all(second[m].get(T1, set()) <= third[m][T1] for m in "abd")


def test_uniform_with_different_subscriptions_gives_each_topic_to_its_subscribers():
    partitions = {T1: 4, T2: 2}
    members = {"a": MemberSpec(frozenset({T1, T2})), "b": MemberSpec(frozenset({T1})),
               "c": MemberSpec(frozenset({T2}))}
    result = uniform(members, partitions)
    assert every_partition_once(result, partitions)
    assert T2 not in result["b"] and T1 not in result["c"]
    assert max(counts(result).values()) - min(counts(result).values()) <= 1


def test_range_gives_contiguous_ranges_in_member_order():
    result = range_({m: MemberSpec(frozenset({T1, T2})) for m in "ab"}, {T1: 5, T2: 2})
    assert result == {"a": {T1: {0, 1, 2}, T2: {0}}, "b": {T1: {3, 4}, T2: {1}}}


def fs(*ps):
    return frozenset(ps)


def test_reconcile_revokes_first_then_advances_and_withholds_unreleased_partitions():
    nobody = lambda t, p: False  # noqa: E731
    # epoch 1 owns 0,1,2; target at epoch 2 is 1,2,3 and it still reports owning 0
    r = reconcile(MemberState.STABLE, 1, {T1: fs(0, 1, 2)}, {}, 2, {T1: fs(1, 2, 3)}, nobody, {T1: fs(0, 1, 2)})
    assert (r.state, r.epoch, r.assigned, r.pending_revocation) == (
        MemberState.UNREVOKED_PARTITIONS, 1, {T1: fs(1, 2)}, {T1: fs(0)})
    # still owns 0: nothing moves
    same = reconcile(r.state, r.epoch, r.assigned, r.pending_revocation, 2, {T1: fs(1, 2, 3)}, nobody,
                     {T1: fs(0, 1, 2)})
    assert (same.state, same.epoch) == (MemberState.UNREVOKED_PARTITIONS, 1)
    # revoked 0, but 3 is still held by another member: epoch 2, 3 withheld
    held = lambda t, p: p == 3  # noqa: E731
    r = reconcile(r.state, r.epoch, r.assigned, r.pending_revocation, 2, {T1: fs(1, 2, 3)}, held, {T1: fs(1, 2)})
    assert (r.state, r.epoch, r.assigned) == (MemberState.UNRELEASED_PARTITIONS, 2, {T1: fs(1, 2)})
    # released: it gets 3
    r = reconcile(r.state, r.epoch, r.assigned, r.pending_revocation, 2, {T1: fs(1, 2, 3)}, nobody, {T1: fs(1, 2)})
    assert (r.state, r.epoch, r.assigned) == (MemberState.STABLE, 2, {T1: fs(1, 2, 3)})


def test_reconcile_without_owned_partitions_waits_for_the_member_to_say():
    r = reconcile(MemberState.STABLE, 1, {T1: fs(0)}, {}, 2, {}, lambda t, p: False, None)
    assert r.state == MemberState.UNREVOKED_PARTITIONS
    r = reconcile(r.state, r.epoch, r.assigned, r.pending_revocation, 2, {}, lambda t, p: False, {})
    assert (r.state, r.epoch, r.assigned) == (MemberState.STABLE, 2, {})


# --- the heartbeat state machine -----------------------------------------------------------------

TOPICS = {"t": (T1, 4)}


def hb(m, member_id, epoch, owned=None, names=("t",), instance=None, rebalance=100, version=1):
    return m.consumer.heartbeat(version, "g", member_id, epoch, instance, None, rebalance if epoch == 0 else -1,
                                list(names) if epoch == 0 else None, None, None,
                                [] if epoch == 0 else owned, "client", "/127.0.0.1", TOPICS.get,
                                lambda: list(TOPICS))


def owned(r):
    return None if r.assignment is None else [(t, sorted(ps)) for t, ps in r.assignment.items()]


@run
async def test_two_members_hand_over_partitions_through_revocation():
    m = make_manager(MemoryStore(), consumer_session_timeout_ms=5000)
    a = hb(m, "a", 0)
    assert (a.error, a.epoch, a.assignment) == (E.none, 1, {T1: fs(0, 1, 2, 3)})
    b = hb(m, "b", 0)
    assert (b.error, b.epoch, b.assignment) == (E.none, 2, {})  # its partitions are a's still
    group = m.groups["g"]
    assert group.state.value == "Reconciling"
    a = hb(m, "a", 1, owned=[(T1, [0, 1, 2, 3])])
    assert a.epoch == 1 and sum(len(p) for p in a.assignment.values()) == 2  # revoke two, stay at epoch 1
    b = hb(m, "b", 2, owned=[])
    assert b.assignment is None  # nothing released yet
    kept = sorted(a.assignment[T1])
    a = hb(m, "a", 1, owned=[(T1, kept)])
    assert a.epoch == 2
    b = hb(m, "b", 2, owned=[])
    assert sorted(b.assignment[T1]) == sorted({0, 1, 2, 3} - set(kept))
    assert group.state.value == "Stable"
    # a leaves: b gets everything at the next epoch
    left = hb(m, "a", -1)
    assert (left.error, left.epoch) == (E.none, -1)
    b = hb(m, "b", 2, owned=[(T1, sorted(b.assignment[T1]))])
    assert (b.epoch, b.assignment) == (3, {T1: fs(0, 1, 2, 3)})
    m.unload_all()


@run
async def test_a_member_that_does_not_revoke_in_time_is_fenced_and_one_that_stops_heartbeating_removed():
    m = make_manager(MemoryStore(), consumer_session_timeout_ms=150)
    hb(m, "a", 0, rebalance=50)
    hb(m, "b", 0)
    a = hb(m, "a", 1, owned=[(T1, [0, 1, 2, 3])])
    assert a.epoch == 1
    await asyncio.sleep(0.1)  # a never acknowledges the revocation: fenced after its rebalance timeout
    group = m.groups["g"]
    assert set(group.members) == {"b"}
    assert hb(m, "a", 1, owned=[]).error == E.unknown_member_id
    b = hb(m, "b", 2, owned=[])
    assert b.assignment == {T1: fs(0, 1, 2, 3)}
    await asyncio.sleep(0.3)  # b stops heartbeating: its session ends
    assert group.members == {} and group.state.value == "Empty"
    m.unload_all()


@run
async def test_static_member_leaves_for_now_and_its_successor_takes_over_without_a_new_epoch():
    m = make_manager(MemoryStore(), consumer_session_timeout_ms=5000)
    s = hb(m, "s1", 0, instance="i")
    o = hb(m, "o", 0)
    s = hb(m, "s1", s.epoch, owned=[(T1, sorted(s.assignment[T1]))])
    s = hb(m, "s1", s.epoch, owned=[(T1, sorted(s.assignment[T1]))])
    o = hb(m, "o", o.epoch, owned=[])
    group: ConsumerGroup = m.groups["g"]
    assert group.state.value == "Stable"
    epoch, mine = group.group_epoch, dict(group.members["s1"].assigned)
    assert hb(m, "s1", -2, instance="i").epoch == -2
    assert hb(m, "other", 0, instance="j").error == E.none  # a different instance may join
    hb(m, "other", -1, instance="j")
    again = hb(m, "s2", 0, instance="i")
    assert again.error == E.none and again.assignment == mine
    assert "s1" not in group.members
    assert hb(m, "s3", 0, instance="i").error == E.unreleased_instance_id
    assert hb(m, "s1", 5, owned=[], instance="i").error == E.fenced_instance_id
    assert group.group_epoch == epoch + 2  # only "other" joining and leaving bumped it
    m.unload_all()


@run
async def test_commits_and_fetches_check_the_member_epoch():
    m = make_manager(MemoryStore(), consumer_session_timeout_ms=5000)
    a = hb(m, "a", 0)
    offsets = [("t", 0, 5, -1, "")]
    assert await m.commit_offsets("g", a.epoch + 1, "a", None, -1, offsets) == {("t", 0): E.stale_member_epoch}
    assert await m.commit_offsets("g", a.epoch, "x", None, -1, offsets) == {("t", 0): E.unknown_member_id}
    assert await m.commit_offsets("g", -1, "", None, -1, offsets) == {("t", 0): E.unknown_member_id}
    assert await m.commit_offsets("g", a.epoch, "a", None, -1, offsets, api_version=8) == {
        ("t", 0): E.unsupported_version}
    assert await m.commit_offsets("g", a.epoch, "a", None, -1, offsets) == {("t", 0): E.none}
    assert m.fetch_offsets("g", [("t", [0])], "a", a.epoch + 1)[0] == E.stale_member_epoch
    assert m.fetch_offsets("g", [("t", [0])], "a", a.epoch)[1][0][1][0][1].offset == 5
    assert m.fetch_offsets("g", [("t", [0])])[0] == E.none  # the admin client
    # listed as a consumer group, not a classic one; not deletable while it has members
    assert m.list_typed_groups((), ("consumer",))[1] == [("g", "consumer", "Stable", "consumer")]
    assert m.list_groups()[1] == []
    assert (await m.delete_groups(["g"]))["g"] == E.non_empty_group
    hb(m, "a", -1)
    assert await m.commit_offsets("g", -1, "", None, -1, [("t", 1, 7, -1, "")]) == {("t", 1): E.none}
    assert (await m.delete_groups(["g"]))["g"] == E.none
    assert "g" not in m.groups
    m.unload_all()
