"""The classic group state machine (engine/groups/manager.py) without a broker.

Records go to an in-memory store; a second manager replaying them stands in for a new
coordinator. Timeouts are milliseconds here so the scenarios run in well under a second.
"""

from __future__ import annotations

import asyncio
import functools
import struct

import pytest

from partita.engine.groups import records as rec
from partita.engine.groups.manager import GroupConfig, GroupManager
from partita.engine.groups.state import GroupState
from partita.engine.protocol.errors import ErrorCode as E
from partita.engine.protocol.errors import KafkaError

SESSION = 200
REBALANCE = 300


def run(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        return asyncio.run(asyncio.wait_for(fn(*args, **kwargs), 10))

    return wrapper


def subscription(*topics: str) -> bytes:
    out = struct.pack(">hi", 0, len(topics))
    for t in topics:
        out += struct.pack(">h", len(t)) + t.encode()
    return out + struct.pack(">i", -1)


class MemoryStore:
    def __init__(self):
        self.records: dict[int, list[tuple[int, bytes, bytes | None]]] = {}
        self.fail: E | None = None
        self.transactional: set[tuple[int, int]] = set()  # (partition, offset) written for a producer

    def append(self, partition, records, timeout_ms, producer=None):
        # Like the log: the append happens now, the awaitable waits for "replication".
        fail = self.fail
        base = None
        if fail is None:
            log = self.records.setdefault(partition, [])
            base = len(log)
            for i, (k, v) in enumerate(records):
                log.append((base + i, k, v))
            if producer is not None:
                self.transactional.update((partition, base + i) for i in range(len(records)))

        async def replicated():
            await asyncio.sleep(0)
            if fail is not None:
                raise KafkaError(fail)
            return base

        return replicated()

    def decoded(self, partition):
        return [(rec.decode_key(k), v) for _, k, v in self.records.get(partition, [])]


class Clock:
    def __init__(self):
        self.now = 1_700_000_000_000

    def __call__(self):
        return self.now


def make_manager(store=None, clock=None, **config):
    cfg = dict(initial_rebalance_delay_ms=0, min_session_timeout_ms=10, max_session_timeout_ms=60000,
               new_member_join_timeout_ms=1000)
    cfg.update(config)
    m = GroupManager(store or MemoryStore(), GroupConfig(**cfg), clock or Clock())
    m.partition_count = 1
    m.begin_load(0)
    m.finish_load(0)
    return m


async def join(m, group="g", member_id="", instance=None, protocols=(("range", b"r"),), version=5,
               session=SESSION, rebalance=REBALANCE, client="client"):
    return await m.join_group(group, member_id, instance, client, "/127.0.0.1", "consumer", list(protocols),
                              session, rebalance, require_known_member_id=version >= 4 and instance is None)


async def join_dynamic(m, group="g", **kw):
    first = await join(m, group, **kw)
    assert first.error == E.member_id_required and first.member_id
    return await join(m, group, member_id=first.member_id, **kw)


async def sync(m, result, assignments=(), group="g", instance=None):
    return await m.sync_group(group, result.generation, result.member_id, instance, "consumer", None, assignments)


@run
async def test_first_member_needs_a_member_id_then_leads_generation_1():
    m = make_manager()
    r = await join_dynamic(m)
    assert r.error == E.none
    assert r.generation == 1 and r.leader == r.member_id and r.protocol_name == "range"
    assert r.member_id.startswith("client-")
    assert [mid for mid, _, md in r.members] == [r.member_id]
    s = await sync(m, r, [(r.member_id, b"assignment-1")])
    assert s.error == E.none and s.assignment == b"assignment-1"
    assert m.groups["g"].state == GroupState.STABLE
    assert m.heartbeat("g", r.member_id, None, 1) == E.none
    assert m.heartbeat("g", r.member_id, None, 0) == E.illegal_generation
    assert m.heartbeat("g", "nobody", None, 1) == E.unknown_member_id
    # the new group was recorded empty (generation 0, as Kafka does), then the assignment
    # was written as GroupMetadataValue v3 before the answer
    (key0, value0), (key, value) = m.store.decoded(0)
    assert key0 == key == rec.GroupMetadataKey("g")
    empty = rec.decode_group_metadata_value(value0)
    assert (empty.protocol_type, empty.generation, empty.protocol, empty.leader, empty.members) == ("", 0, None, None, ())
    gm = rec.decode_group_metadata_value(value)
    assert gm.generation == 1 and gm.protocol == "range" and gm.leader == r.member_id
    assert gm.members[0].assignment == b"assignment-1" and gm.members[0].subscription == b"r"
    assert gm.members[0].client_host == "/127.0.0.1" and gm.members[0].session_timeout == SESSION


@run
async def test_old_versions_join_without_member_id_required():
    m = make_manager()
    r = await join(m, version=3)
    assert r.error == E.none and r.generation == 1 and r.member_id


@run
async def test_second_member_triggers_rebalance_and_both_get_the_new_generation():
    m = make_manager()
    a = await join_dynamic(m)
    await sync(m, a, [(a.member_id, b"A")])
    first = await join(m)
    assert first.error == E.member_id_required
    b_task = asyncio.create_task(join(m, member_id=first.member_id))
    await asyncio.sleep(0.01)
    assert m.groups["g"].state == GroupState.PREPARING_REBALANCE
    assert m.heartbeat("g", a.member_id, None, 1) == E.rebalance_in_progress
    a2 = await join(m, member_id=a.member_id)
    b = await b_task
    assert a2.generation == b.generation == 2
    assert a2.leader == b.leader == a.member_id
    assert len(a2.members) == 2 and b.members == ()
    sa = asyncio.create_task(sync(m, a2, [(a.member_id, b"A2"), (b.member_id, b"B2")]))
    sb = await sync(m, b)
    assert sb.assignment == b"B2" and (await sa).assignment == b"A2"


@run
async def test_leave_triggers_rebalance_of_the_rest():
    m = make_manager()
    a = await join_dynamic(m)
    b_task = asyncio.create_task(join_dynamic(m))
    await asyncio.sleep(0.01)
    a2 = await join(m, member_id=a.member_id)
    b = await b_task
    await asyncio.gather(sync(m, a2, [(a.member_id, b"A"), (b.member_id, b"B")]), sync(m, b))
    error, results = m.leave_group("g", [(b.member_id, None)])
    assert error == E.none and results == [(b.member_id, None, E.none)]
    assert m.groups["g"].state == GroupState.PREPARING_REBALANCE
    a3 = await join(m, member_id=a.member_id)
    assert a3.generation == 3 and [x[0] for x in a3.members] == [a.member_id]
    assert m.leave_group("g", [("ghost", None)])[1] == [("ghost", None, E.unknown_member_id)]


@run
async def test_last_member_leaving_empties_the_group_and_writes_it():
    m = make_manager()
    a = await join_dynamic(m)
    await sync(m, a, [(a.member_id, b"A")])
    m.leave_group("g", [(a.member_id, None)])
    await asyncio.sleep(0.01)
    group = m.groups["g"]
    assert group.state == GroupState.EMPTY and group.generation == 2
    key, value = m.store.decoded(0)[-1]
    gm = rec.decode_group_metadata_value(value)
    assert (gm.generation, gm.protocol, gm.leader, gm.members, gm.protocol_type) == (2, None, None, (), "consumer")


@run
async def test_session_timeout_removes_a_silent_member():
    m = make_manager()
    a = await join_dynamic(m, session=50)
    await sync(m, a, [(a.member_id, b"A")])
    await asyncio.sleep(0.03)
    assert m.heartbeat("g", a.member_id, None, 1) == E.none
    await asyncio.sleep(0.03)
    assert m.heartbeat("g", a.member_id, None, 1) == E.none  # kept alive past its first deadline
    await asyncio.sleep(0.12)
    assert m.groups["g"].state == GroupState.EMPTY
    assert m.heartbeat("g", a.member_id, None, 1) == E.unknown_member_id


@run
async def test_member_that_does_not_rejoin_is_dropped_after_rebalance_timeout():
    m = make_manager()
    a = await join_dynamic(m, rebalance=100, session=5000)
    await sync(m, a, [(a.member_id, b"A")])
    b = await join_dynamic(m, rebalance=100, session=5000)  # a never rejoins
    assert b.generation == 2 and b.leader == b.member_id and [x[0] for x in b.members] == [b.member_id]
    assert m.heartbeat("g", a.member_id, None, 1) == E.unknown_member_id


@run
async def test_member_that_does_not_sync_is_removed():
    m = make_manager()
    a = await join_dynamic(m, rebalance=80, session=5000)
    b_task = asyncio.create_task(join_dynamic(m, rebalance=80, session=5000))
    await asyncio.sleep(0.01)
    a2 = await join(m, member_id=a.member_id, rebalance=80, session=5000)
    b = await b_task
    await sync(m, a2, [(a.member_id, b"A"), (b.member_id, b"B")])  # b never syncs
    await asyncio.sleep(0.15)
    group = m.groups["g"]
    assert b.member_id not in group.members
    assert group.state == GroupState.PREPARING_REBALANCE


@run
async def test_initial_rebalance_delay_collects_members_into_one_generation():
    m = make_manager(initial_rebalance_delay_ms=80)
    results = await asyncio.gather(*(join(m, version=3, rebalance=1000) for _ in range(3)))
    assert {r.generation for r in results} == {1}
    assert sum(1 for r in results if r.members) == 1


@run
async def test_protocol_selected_by_votes_among_common_protocols():
    m = make_manager(initial_rebalance_delay_ms=50)
    prefs = [
        (("roundrobin", b"1"), ("range", b"1")),
        (("range", b"2"), ("roundrobin", b"2"), ("cooperative-sticky", b"2")),
        (("roundrobin", b"3"), ("range", b"3")),
    ]
    results = await asyncio.gather(*(join(m, version=3, protocols=p) for p in prefs))
    assert {r.protocol_name for r in results} == {"roundrobin"}
    leader = next(r for r in results if r.members)
    assert sorted(md for _, _, md in leader.members) == [b"1", b"2", b"3"]
    bad = await join(m, version=3, protocols=(("cooperative-sticky", b"x"),))
    assert bad.error == E.inconsistent_group_protocol


@run
async def test_invalid_session_timeout_and_group_id():
    m = make_manager(min_session_timeout_ms=100)
    assert (await join(m, session=50)).error == E.invalid_session_timeout
    assert (await join(m, group="")).error == E.invalid_group_id
    assert (await join(m, member_id="unknown-member")).error == E.unknown_member_id


@run
async def test_group_max_size():
    m = make_manager(max_size=1)
    a = await join_dynamic(m)
    await sync(m, a, [(a.member_id, b"A")])
    r = await join(m)  # refused before it even gets a member id
    assert r.error == E.group_max_size_reached
    assert (await join(m, member_id=a.member_id)).error == E.none  # members may still rejoin


@run
async def test_static_member_rejoin_in_stable_group_keeps_generation_and_fences_old_id():
    m = make_manager()
    a = await join(m, instance="i-a")
    assert a.error == E.none and a.member_id.startswith("i-a-")
    await sync(m, a, [(a.member_id, b"A")], instance="i-a")
    again = await join(m, instance="i-a")
    assert again.error == E.none and again.member_id != a.member_id
    assert again.generation == 1
    assert again.leader == a.member_id  # the old leader id: the new one must not reassign
    s = await sync(m, again, instance="i-a")
    assert s.assignment == b"A"
    assert m.heartbeat("g", a.member_id, "i-a", 1) == E.fenced_instance_id
    assert m.heartbeat("g", again.member_id, "i-a", 1) == E.none
    # leaving by instance id with a stale member id is fenced; with the right one it works
    assert m.leave_group("g", [(a.member_id, "i-a")])[1][0][2] == E.fenced_instance_id
    assert m.leave_group("g", [("", "i-a")])[1][0][2] == E.none


@run
async def test_offset_commit_and_fetch_with_generation_checks():
    m = make_manager()
    a = await join_dynamic(m, protocols=(("range", subscription("t")),))
    await sync(m, a, [(a.member_id, b"A")])
    res = await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 10, 3, "md"), ("t", 1, 20, -1, None)])
    assert res == {("t", 0): E.none, ("t", 1): E.none}
    res = await m.commit_offsets("g", 0, a.member_id, None, -1, [("t", 0, 11, 3, "")])
    assert res == {("t", 0): E.illegal_generation}
    res = await m.commit_offsets("g", 1, "stranger", None, -1, [("t", 0, 11, 3, "")])
    assert res == {("t", 0): E.unknown_member_id}
    res = await m.commit_offsets("g", -1, "", None, -1, [("t", 0, 11, 3, "")])
    assert res == {("t", 0): E.unknown_member_id}  # a simple commit needs an empty group
    res = await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 2, 1, -1, "x" * 5000)])
    assert res == {("t", 2): E.offset_metadata_too_large}
    error, topics = m.fetch_offsets("g", [("t", [0, 1, 2])])
    assert error == E.none
    (name, parts), = topics
    got = {p: (om.offset, om.leader_epoch, om.metadata) if om else None for p, om in parts}
    assert got == {0: (10, 3, "md"), 1: (20, -1, ""), 2: None}
    error, topics = m.fetch_offsets("g", None)
    assert [(t, [p for p, _ in ps]) for t, ps in topics] == [("t", [0, 1])]
    # OffsetCommitValue v3 records
    values = [rec.decode_offset_commit_value(v) for k, v in m.store.decoded(0)
              if isinstance(k, rec.OffsetCommitKey)]
    assert [(v.offset, v.leader_epoch, v.metadata) for v in values] == [(10, 3, "md"), (20, -1, "")]


@run
async def test_simple_commits_create_a_group_and_unknown_generation_is_illegal():
    m = make_manager()
    assert await m.commit_offsets("simple", -1, "", None, -1, [("t", 0, 5, -1, "")]) == {("t", 0): E.none}
    assert m.groups["simple"].state == GroupState.EMPTY and m.groups["simple"].protocol_type is None
    assert await m.commit_offsets("other", 3, "m", None, -1, [("t", 0, 5, -1, "")]) == {("t", 0): E.illegal_generation}
    assert await m.commit_offsets("x", -1, "", None, -1, [("nope", 0, 5, -1, "")],
                                  partition_exists=lambda t, p: t != "nope") == {("nope", 0): E.unknown_topic_or_partition}


@run
async def test_commit_during_completing_rebalance_is_rebalance_in_progress():
    m = make_manager()
    a = await join_dynamic(m)
    assert m.groups["g"].state == GroupState.COMPLETING_REBALANCE
    res = await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 1, -1, "")])
    assert res == {("t", 0): E.rebalance_in_progress}


@run
async def test_failed_write_fails_the_commit():
    store = MemoryStore()
    m = make_manager(store)
    store.fail = E.not_enough_replicas
    assert await m.commit_offsets("g", -1, "", None, -1, [("t", 0, 1, -1, "")]) == {("t", 0): E.coordinator_not_available}
    store.fail = E.not_leader_or_follower
    assert await m.commit_offsets("g", -1, "", None, -1, [("t", 0, 1, -1, "")]) == {("t", 0): E.not_coordinator}
    assert m.fetch_offsets("g", [("t", [0])])[1][0][1][0][1] is None


@run
async def test_delete_groups_only_when_empty_and_writes_tombstones():
    m = make_manager()
    a = await join_dynamic(m)
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 1, -1, "")])
    assert await m.delete_groups(["g", "missing"]) == {"g": E.non_empty_group, "missing": E.group_id_not_found}
    m.leave_group("g", [(a.member_id, None)])
    await asyncio.sleep(0.01)
    assert await m.delete_groups(["g"]) == {"g": E.none}
    assert "g" not in m.groups
    tail = m.store.decoded(0)[-2:]
    assert tail == [(rec.OffsetCommitKey("g", "t", 0), None), (rec.GroupMetadataKey("g"), None)]


@run
async def test_offset_delete_refuses_subscribed_topics():
    m = make_manager()
    a = await join_dynamic(m, protocols=(("range", subscription("t")),))
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 1, -1, ""), ("u", 0, 2, -1, "")])
    error, res = await m.delete_offsets("g", [("t", [0]), ("u", [0])])
    assert error == E.none and res == {("t", 0): E.group_subscribed_to_topic, ("u", 0): E.none}
    assert ("u", 0) not in m.groups["g"].offsets and ("t", 0) in m.groups["g"].offsets
    assert (await m.delete_offsets("missing", [("t", [0])]))[0] == E.group_id_not_found


@run
async def test_describe_and_list_groups():
    m = make_manager()
    a = await join_dynamic(m, protocols=(("range", b"meta"),))
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("simple", -1, "", None, -1, [("t", 0, 1, -1, "")])
    error, summary = m.describe_group("g")
    assert error == E.none and summary.state == "Stable" and summary.protocol_type == "consumer"
    assert summary.protocol_data == "range"
    assert summary.members == ((a.member_id, None, "client", "/127.0.0.1", b"meta", b"A"),)
    assert m.describe_group("nope")[1].state == "Dead"
    assert sorted(m.list_groups()[1]) == [("g", "consumer", "Stable"), ("simple", "", "Empty")]
    assert m.list_groups(["EMPTY"])[1] == [("simple", "", "Empty")]


@run
async def test_new_coordinator_reloads_groups_and_offsets_from_the_records():
    store = MemoryStore()
    m = make_manager(store)
    a = await join_dynamic(m, instance=None, protocols=(("range", subscription("t")),))
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 10, 2, "m0")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 11, 2, "m1")])
    await m.commit_offsets("gone", -1, "", None, -1, [("t", 0, 1, -1, "")])
    await m.delete_groups(["gone"])

    n = GroupManager(store, m.config, m.now_ms)
    n.partition_count = 1
    n.begin_load(0)
    assert n.check("g") == E.coordinator_load_in_progress
    for offset, key, value in store.records[0]:
        n.replay(0, key, value, offset)
    n.finish_load(0)
    assert set(n.groups) == {"g"}
    group = n.groups["g"]
    assert group.state == GroupState.STABLE and group.generation == 1 and list(group.members) == [a.member_id]
    assert group.offsets[("t", 0)].offset == 11 and group.offsets[("t", 0)].metadata == "m1"
    assert group.subscribed_topics == {"t"}
    # the member carries on with the new coordinator without rejoining
    assert n.heartbeat("g", a.member_id, None, 1) == E.none
    assert (await n.sync_group("g", 1, a.member_id, None, None, None, [])).assignment == b"A"
    n.unload(0)
    assert n.check("g") == E.not_coordinator


@run
async def test_offsets_of_deleted_topics_are_tombstoned_even_for_an_active_group():
    store = MemoryStore()
    m = make_manager(store)
    a = await join_dynamic(m, protocols=(("range", subscription("t", "u")),))
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 10, -1, ""), ("t", 1, 3, -1, ""),
                                                              ("u", 0, 7, -1, "")])
    await m.commit_offsets("other", -1, "", None, -1, [("u", 0, 1, -1, "")])

    assert await m.remove_offsets_of_deleted_topics(frozenset({"t"})) == 2
    assert set(m.groups["g"].offsets) == {("u", 0)} and set(m.groups["other"].offsets) == {("u", 0)}
    assert m.groups["g"].state == GroupState.STABLE  # its members are not disturbed
    # a new coordinator reading the records agrees
    n = GroupManager(store, m.config, m.now_ms)
    n.partition_count = 1
    n.begin_load(0)
    for offset, key, value in store.records[0]:
        n.replay(0, key, value, offset)
    n.finish_load(0)
    assert set(n.groups["g"].offsets) == {("u", 0)}
    # a failed write keeps them (they are still in the log)
    store.fail = E.not_leader_or_follower
    assert await m.remove_offsets_of_deleted_topics(frozenset({"u"})) == 0
    assert set(m.groups["g"].offsets) == {("u", 0)}


async def txn_commit(m, group, pid, offsets, generation=-1, member=""):
    return await m.txn_commit_offsets(group, pid, 0, generation, member, None,
                                      [(t, p, o, -1, "") for t, p, o in offsets])


@run
async def test_transactional_offsets_count_only_once_their_transaction_commits():
    m = make_manager()
    a = await join_dynamic(m, protocols=(("range", subscription("t")),))
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 3, -1, "")])
    assert await txn_commit(m, "g", 7, [("t", 0, 10), ("t", 1, 4)], 1, a.member_id) == {
        ("t", 0): E.none, ("t", 1): E.none}
    assert m.groups["g"].offsets[("t", 0)].offset == 3  # pending until the marker
    assert m.has_pending_txn_offset("g", "t", 1)
    m.complete_txn(0, 7, committed=True)
    assert {k: om.offset for k, om in m.groups["g"].offsets.items()} == {("t", 0): 10, ("t", 1): 4}
    assert not m.has_pending_txn_offset("g", "t", 1) and not m.pending_txn_offsets
    # an aborted transaction leaves the offsets as they were
    await txn_commit(m, "g", 7, [("t", 0, 20)], 1, a.member_id)
    m.complete_txn(0, 7, committed=False)
    assert m.groups["g"].offsets[("t", 0)].offset == 10
    # the consumer's group metadata is checked (KIP-447)
    assert await txn_commit(m, "g", 7, [("t", 0, 30)], 0, a.member_id) == {("t", 0): E.illegal_generation}


@run
async def test_a_plain_commit_written_after_a_transactional_one_wins():
    m = make_manager()
    await txn_commit(m, "g", 7, [("t", 0, 10)])
    await m.commit_offsets("g", -1, "", None, -1, [("t", 0, 12, -1, "")])
    m.complete_txn(0, 7, committed=True)  # its record is older: it does not replace 12
    assert m.groups["g"].offsets[("t", 0)].offset == 12


@run
async def test_a_new_coordinator_replays_transactional_offsets_by_their_markers():
    store = MemoryStore()
    m = make_manager(store)
    await txn_commit(m, "g", 7, [("t", 0, 10)])   # committed below
    await txn_commit(m, "g", 8, [("t", 1, 5)])    # aborted below
    await txn_commit(m, "g", 9, [("t", 2, 6)])    # still open when the coordinator moves
    n = GroupManager(store, m.config, m.now_ms)
    n.partition_count = 1
    n.begin_load(0)
    for offset, key, value in store.records[0]:
        producer = {0: 7, 1: 8, 2: 9}[offset] if (0, offset) in store.transactional else -1
        n.replay(0, key, value, offset, producer)
        if offset == 1:
            n.replay_marker(0, 7, committed=True)
            n.replay_marker(0, 8, committed=False)
    n.finish_load(0)
    assert {k: om.offset for k, om in n.groups["g"].offsets.items()} == {("t", 0): 10}
    assert n.has_pending_txn_offset("g", "t", 2)
    n.complete_txn(0, 9, committed=True)
    assert n.groups["g"].offsets[("t", 2)].offset == 6


@run
async def test_offsets_of_an_empty_group_expire_after_retention():
    clock = Clock()
    m = make_manager(clock=clock, offsets_retention_ms=60_000)
    a = await join_dynamic(m)
    await sync(m, a, [(a.member_id, b"A")])
    await m.commit_offsets("g", 1, a.member_id, None, -1, [("t", 0, 1, -1, "")])
    clock.now += 120_000
    assert await m.expire_offsets() == 0  # a Stable group subscribed to nothing known keeps them
    m.leave_group("g", [(a.member_id, None)])
    await asyncio.sleep(0.01)
    clock.now += 30_000
    assert await m.expire_offsets() == 0  # empty for 30 s only
    clock.now += 31_000
    assert await m.expire_offsets() == 1
    assert "g" not in m.groups
    assert m.store.decoded(0)[-1] == (rec.GroupMetadataKey("g"), None)


@run
async def test_commit_with_retention_time_writes_v1_and_expires_then():
    clock = Clock()
    m = make_manager(clock=clock)
    await m.commit_offsets("s", -1, "", None, 5_000, [("t", 0, 1, -1, "")])
    (key, value), = m.store.decoded(0)
    assert struct.unpack(">h", value[:2])[0] == 1
    assert rec.decode_offset_commit_value(value).expire_timestamp == clock.now + 5_000
    clock.now += 5_000
    assert await m.expire_offsets() == 1


@run
async def test_unload_answers_parked_joins_with_not_coordinator():
    m = make_manager(initial_rebalance_delay_ms=5000)
    task = asyncio.create_task(join(m, version=3, rebalance=10000))
    await asyncio.sleep(0.01)
    m.unload(0)
    assert (await task).error == E.not_coordinator


@pytest.mark.parametrize("partitions", [1, 3, 50])
def test_check_uses_the_partition_of_the_group(partitions):
    m = GroupManager(MemoryStore(), GroupConfig())
    assert m.check("g") == E.coordinator_not_available
    m.partition_count = partitions
    assert m.check("g") == E.not_coordinator
    m.begin_load(m.partition_of("g"))
    m.finish_load(m.partition_of("g"))
    assert m.check("g") == E.none
