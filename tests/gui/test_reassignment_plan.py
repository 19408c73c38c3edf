"""Planning a reassignment: moves, their cost, their rack risks, the exported plan."""

from __future__ import annotations

import json
import re

import pytest

from partita.gui.domain import reassignment as rp
from partita.gui.domain.snapshot import Broker

BROKERS = tuple(Broker(i, "127.0.0.1", 9000 + i, rack, i != 6) for i, rack in
                [(1, "a"), (2, "b"), (3, "c"), (4, "a"), (5, "b"), (6, "c")])  # broker 6 is down
IDS = [b.node_id for b in BROKERS]


def state(topic="orders", partition=0, replicas=(1, 2, 3), size=1000, min_isr=2, leader=None, isr=None):
    return rp.PartitionState(topic, partition, replicas[0] if leader is None else leader, replicas,
                             replicas if isr is None else isr, size, min_isr)


def test_a_replica_moves_in_place_and_moving_it_back_empties_the_plan():
    s = state()
    plan = rp.move_replica(rp.Plan(), s, 1, 4, IDS)
    assert plan.target_of(s.key) == (4, 2, 3)  # the first replica's place: 4 is the preferred leader now
    [m] = plan.moves
    assert m.adding == (4,) and m.removing == (1,) and m.bytes_to_copy == 1000
    plan = rp.move_replica(plan, s, 2, 5, IDS)  # a second move of the same partition edits that move
    assert len(plan) == 1 and plan.target_of(s.key) == (4, 5, 3)
    plan = rp.move_replica(plan, s, 4, 1, IDS)
    plan = rp.move_replica(plan, s, 5, 2, IDS)
    assert not plan


@pytest.mark.parametrize("source, target, message", [
    (1, 2, "broker 2 already holds a replica of orders-0"),
    (4, 5, "orders-0 has no replica on broker 4 in the plan (replicas 1,2,3)"),
    (1, 42, "there is no broker 42"),
])
def test_impossible_moves_are_refused_with_the_reason(source, target, message):
    with pytest.raises(rp.PlanError, match=f"^{re.escape(message)}$"):
        rp.move_replica(rp.Plan(), state(), source, target, IDS)


def test_cost_counts_each_new_replica_and_the_throttle_time_follows_the_busiest_broker():
    plan = rp.Plan()
    plan = rp.move_replica(plan, state("a", 0, (1, 2), size=3_000_000), 2, 3, IDS)  # leader 1 serves 3 MB to 3
    plan = rp.move_replica(plan, state("b", 0, (1, 5), size=1_000_000), 5, 3, IDS)  # and 1 MB more to 3
    plan = rp.move_replica(plan, state("c", 0, (2, 4), size=None), 4, 1, IDS)  # size unknown
    c = rp.cost(plan, throttle_bytes_per_s=1_000_000)
    assert (c.partitions, c.replicas_added, c.bytes_to_copy, c.unknown_sizes) == (3, 3, 4_000_000, 1)
    assert c.bytes_in == {3: 4_000_000} and c.bytes_out == {1: 4_000_000}
    assert c.seconds_at_throttle == 4.0 and c.busiest_broker == 1
    assert rp.cost(plan).seconds_at_throttle is None


def test_rack_changes_show_a_move_that_doubles_up_a_rack_and_one_that_fixes_it():
    good = state("spread", 0, (1, 2, 3))
    worse = rp.move_replica(rp.Plan(), good, 2, 4, IDS)  # 1 and 4 are both in rack a
    changes = {c.domain: c for c in rp.rack_changes(worse, BROKERS)}
    assert changes["a"].before == (0, 0, 0) and changes["a"].after == (0, 1, 0) and changes["a"].worse
    assert not changes["b"].worse and not changes["c"].worse
    assert rp.spread_warnings(worse, BROKERS) == ["spread-0: replicas 1,4,3 use 2 of 3 racks (a, c)"]

    bad = state("doubled", 0, (1, 4), min_isr=1)  # both in rack a: offline with it
    fixed = rp.move_replica(rp.Plan(), bad, 4, 2, IDS)
    changes = {c.domain: c for c in rp.rack_changes(fixed, BROKERS)}
    assert changes["a"].before == (1, 0, 0) and changes["a"].after == (0, 0, 1) and changes["a"].better
    assert rp.spread_warnings(fixed, BROKERS) == []


def test_a_move_onto_a_broker_that_is_down_is_warned_about():
    plan = rp.move_replica(rp.Plan(), state(), 3, 6, IDS)
    assert "orders-0: broker 6 is down; the move waits until it returns" in rp.spread_warnings(plan, BROKERS)


def test_the_plan_exports_as_kafka_reassign_partitions_json():
    plan = rp.move_replica(rp.Plan(), state("orders", 3), 3, 6, IDS)
    assert json.loads(rp.to_reassignment_json(plan)) == {
        "version": 1, "partitions": [{"topic": "orders", "partition": 3, "replicas": [1, 2, 6]}]}


def test_status_of_a_move():
    s = state()
    [m] = rp.move_replica(rp.Plan(), s, 3, 5, IDS).moves
    done = state(replicas=(1, 2, 5))
    assert rp.move_status(m, s, False, None, submitted=False) == rp.PLANNED
    assert rp.move_status(m, s, True, None, submitted=True) == rp.RUNNING
    assert rp.move_status(m, done, False, None, submitted=True) == rp.DONE
    assert rp.move_status(m, s, False, None, submitted=True) == rp.CANCELLED
    # not listed any more, but the metadata read still shows old and new replicas: not over yet
    assert rp.move_status(m, state(replicas=(1, 2, 5, 3)), False, None, submitted=True) == rp.RUNNING
    assert rp.move_status(m, s, False, "INVALID_REPLICA_ASSIGNMENT", submitted=True).startswith("refused: ")
    assert rp.refresh_states(rp.Plan((m,)), {}).moves == ()


def test_spreading_moves_the_later_doubled_replica_to_the_least_loaded_broker_of_a_missing_rack():
    doubled = state("doubled", 0, (1, 4), min_isr=1)  # rack a twice
    triple = state("triple", 0, (1, 2, 5))  # a, b, b: rack c missing, broker 6 (c) is down
    fine = state("fine", 0, (1, 2, 3))
    load = {1: 10, 2: 3, 3: 7, 4: 9, 5: 1, 6: 0}
    plan, notes = rp.spread(rp.Plan(), [doubled, triple, fine], BROKERS, load)
    # 4 (the later one in rack a) goes to broker 5, the least loaded live broker of a rack it lacks
    assert plan.target_of(doubled.key) == (1, 5)
    # 5 (the later one in rack b) goes to 3: rack c's only live broker (6 is down)
    assert plan.target_of(triple.key) == (1, 2, 3)
    assert plan.target_of(fine.key) is None
    assert notes == ["fine-0: already in 3 racks; only more replicas would lower its risk"]
    changes = {c.domain: c for c in rp.rack_changes(plan, BROKERS)}
    assert changes["a"].before[0] == 1 and changes["a"].after[0] == 0  # doubled-0 no longer offline with rack a


def test_spreading_counts_its_own_moves_as_load_and_says_when_it_cannot_help():
    a = state("x", 0, (1, 4), min_isr=1)
    b = state("y", 0, (4, 1), min_isr=1)
    plan, notes = rp.spread(rp.Plan(), [a, b], BROKERS, {2: 0, 3: 0, 5: 5})
    assert plan.target_of(a.key) == (1, 2) and plan.target_of(b.key) == (4, 3)  # 2 took one: 3 is next
    rackless = tuple(Broker(i, "h", i, None) for i in (1, 2))
    assert rp.spread(rp.Plan(), [a], rackless, {}) == (rp.Plan(), ["spreading needs every broker to have a rack"])
