"""The controller's decisions: placement across racks, elections, ISR, reassignment — no processes."""

from __future__ import annotations

import pytest

from partita.engine.cluster.controller import Controller
from partita.engine.cluster.metadata import NO_LEADER, BrokerInfo, PartitionState
from partita.engine.cluster.placement import PlacementError, assign
from partita.engine.cluster.store import MetadataStore


@pytest.fixture
def controller(tmp_path):
    c = Controller(MetadataStore(tmp_path / "m.db"), "cid", {})
    for node, rack in ((1, "a"), (2, "b"), (3, "c")):
        c.register_broker(node, "127.0.0.1", 9000 + node, rack, [f"/d{node}"])
    return c


def test_placement_puts_each_replica_in_another_rack():
    brokers = [BrokerInfo(i, "h", i, r) for i, r in ((1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c"))]
    rack = {b.node_id: b.rack for b in brokers}
    lists = assign(brokers, 60, 3)
    for replicas in lists:
        assert len({rack[r] for r in replicas}) == 3
    leaders = [r[0] for r in lists]
    assert {leaders.count(n) for n in range(1, 7)} == {10}


def test_placement_refuses_more_replicas_than_brokers():
    with pytest.raises(PlacementError):
        assign([BrokerInfo(1, "h", 1, None)], 1, 2)


def test_create_topic_is_persisted_and_survives_reload(controller, tmp_path):
    [result] = controller.create_topics([{"name": "t", "num_partitions": 3, "replication_factor": 3}])
    assert result["error_code"] == 0
    reloaded = Controller(MetadataStore(tmp_path / "m.db"), "other", {})
    assert reloaded.image.cluster_id == "cid"
    assert [p.replicas for p in reloaded.image.topics["t"].partitions] == \
        [p.replicas for p in controller.image.topics["t"].partitions]


def test_losing_a_leader_moves_leadership_within_the_isr(controller):
    controller.create_topics([{"name": "t", "num_partitions": 3, "replication_factor": 3}])
    before = controller.image.topics["t"].partitions
    controller.broker_lost(1, "test")
    for old, new in zip(before, controller.image.topics["t"].partitions, strict=True):
        assert 1 not in new.isr
        assert new.leader != 1 and new.leader in new.isr
        if old.leader == 1:
            assert new.leader_epoch == old.leader_epoch + 1


def test_last_isr_member_lost_means_offline_until_it_returns(controller):
    controller.create_topics([{"name": "t", "num_partitions": 1, "replication_factor": 1,
                               "assignments": {"0": [2]}}])
    controller.broker_lost(2, "test")
    state = controller.image.topics["t"].partitions[0]
    assert state.leader == NO_LEADER and state.isr == (2,)
    controller.register_broker(2, "127.0.0.1", 9002, "b", ["/d2"])
    assert controller.image.topics["t"].partitions[0].leader == 2


def test_unclean_election_only_when_asked(controller):
    controller.create_topics([{"name": "t", "num_partitions": 1, "replication_factor": 2,
                               "assignments": {"0": [1, 2]}}])
    controller.alter_partition(1, "t", 0, 0, 0, [1])  # follower 2 fell out of the ISR
    controller.broker_lost(1, "test")
    assert controller.image.topics["t"].partitions[0].leader == NO_LEADER
    [r] = controller.elect_leaders(1, [("t", 0)])
    assert r["error_code"] == 0
    assert controller.image.topics["t"].partitions[0].leader == 2


def test_an_election_for_every_partition_reports_only_those_that_needed_one(controller):
    """As Kafka's controller: asked for all partitions, it leaves out ELECTION_NOT_NEEDED."""
    controller.create_topics([{"name": "t", "num_partitions": 3, "replication_factor": 3}])
    assert controller.elect_leaders(0, None) == []
    [named] = controller.elect_leaders(0, [("t", 0)])
    assert named["error_code"] == 84  # ELECTION_NOT_NEEDED, when the partition is named
    preferred_of_1 = controller.image.topics["t"].partitions[1].replicas[0]
    controller.broker_lost(preferred_of_1, "test")
    controller.register_broker(preferred_of_1, "127.0.0.1", 9000 + preferred_of_1, "x", ["/d"])
    # back, but not yet in the ISR: every partition it prefers is reported, with the reason
    results = controller.elect_leaders(0, None)
    assert results and {r["error_code"] for r in results} == {80}  # PREFERRED_LEADER_NOT_AVAILABLE
    assert ("t", 1) in {(r["topic"], r["partition"]) for r in results}


def test_reassignment_completes_when_new_replicas_join_the_isr(controller):
    controller.create_topics([{"name": "t", "num_partitions": 1, "replication_factor": 1,
                               "assignments": {"0": [1]}}])
    [r] = controller.alter_reassignments([{"topic": "t", "partition": 0, "replicas": [2, 3]}])
    assert r["error_code"] == 0
    state = controller.image.topics["t"].partitions[0]
    assert state.adding == (2, 3) and state.removing == (1,)
    assert controller.list_reassignments()[0]["partition"] == 0
    controller.alter_partition(1, "t", 0, state.leader_epoch, state.partition_epoch, [1, 2, 3])
    done = controller.image.topics["t"].partitions[0]
    assert done.replicas == (2, 3) and not done.reassigning
    assert done.leader in (2, 3)


def test_reassignment_can_be_cancelled(controller):
    controller.create_topics([{"name": "t", "num_partitions": 1, "replication_factor": 1,
                               "assignments": {"0": [1]}}])
    controller.alter_reassignments([{"topic": "t", "partition": 0, "replicas": [2]}])
    controller.alter_reassignments([{"topic": "t", "partition": 0, "replicas": None}])
    state = controller.image.topics["t"].partitions[0]
    assert state.replicas == (1,) and not state.reassigning and state.leader == 1


def test_stale_alter_partition_is_fenced(controller):
    controller.create_topics([{"name": "t", "num_partitions": 1, "replication_factor": 3,
                               "assignments": {"0": [1, 2, 3]}}])
    result = controller.alter_partition(1, "t", 0, 0, 99, [1, 2])
    assert result["error_code"] != 0
    result = controller.alter_partition(2, "t", 0, 0, 0, [2])
    assert result["error_code"] != 0


def test_a_leaders_isr_changes_are_answered_each_and_committed_as_one_change(controller):
    controller.create_topics([{"name": "t", "num_partitions": 3, "replication_factor": 3,
                               "assignments": {str(i): [1, 2, 3] for i in range(3)}}])
    before = controller.image.version
    pushed = []
    controller.subscribe(pushed.append)
    changes = [{"topic": "t", "partition": i, "leader_epoch": 0, "partition_epoch": 0, "isr": [1, 3]}
               for i in range(3)]
    changes[1]["partition_epoch"] = 7  # stale: refused on its own
    changes.append({"topic": "gone", "partition": 0, "leader_epoch": 0, "partition_epoch": 0, "isr": [1]})
    results = controller.alter_partitions(1, changes)
    assert [r["error_code"] for r in results] == [0, 95, 0, 3]  # INVALID_UPDATE_VERSION, UNKNOWN_TOPIC
    assert controller.image.version == before + 1 and len(pushed) == 1  # one image for the batch
    assert [p.isr for p in controller.image.topics["t"].partitions] == [(1, 3), (1, 2, 3), (1, 3)]
    assert controller.alter_partitions(1, changes[1:2])[0]["error_code"] == 95
    assert controller.image.version == before + 1  # nothing changed: no new image
    # a replica that rejoins comes last, in the leader's order, as Kafka lists it (Isr: 1,3,2)
    rejoin = {"topic": "t", "partition": 0, "leader_epoch": 0, "partition_epoch": 1, "isr": [1, 3, 2]}
    assert controller.alter_partitions(1, [rejoin])[0]["error_code"] == 0
    assert controller.image.topics["t"].partitions[0].isr == (1, 3, 2)


def test_invalid_names_and_configs_are_refused(controller):
    results = controller.create_topics([
        {"name": "bad name", "num_partitions": 1, "replication_factor": 1},
        {"name": "ok", "num_partitions": 1, "replication_factor": 1, "configs": {"retention.ms": "x"}},
        {"name": "ok2", "num_partitions": 1, "replication_factor": 1, "configs": {"no.such": "1"}},
        {"name": "rf", "num_partitions": 1, "replication_factor": 4},
    ])
    assert [r["error_code"] for r in results] == [17, 40, 40, 38]


@pytest.mark.parametrize("brokers", [1, 2, 3, 4, 5, 7])
def test_placement_never_repeats_a_broker(brokers):
    infos = [BrokerInfo(i, "h", i, "abc"[i % 3]) for i in range(1, brokers + 1)]
    for rf in range(1, brokers + 1):
        for replicas in assign(infos, 3 * brokers, rf):
            assert len(set(replicas)) == rf


def test_leader_counts_a_replica_proposed_for_the_isr_in_the_high_watermark():
    """Kafka's maximal ISR: while adding a follower is in flight, the HW waits for it too,
    since the controller may complete a reassignment (and drop the old leader) the moment it joins."""
    from types import SimpleNamespace

    from partita.engine.broker.partition import Partition
    from partita.engine.cluster.metadata import PartitionState

    log = SimpleNamespace(log_end_offset=100, epoch_start_offset=lambda epoch: 0)
    partition = Partition("t", 0, log, node_id=1)
    partition.become_leader(PartitionState(replicas=(2, 1), isr=(1,), leader=1, adding=(2,), removing=(1,)))
    assert partition.high_watermark == 100
    assert partition.record_follower_fetch(2, 100, 0)  # caught up: eligible for the ISR
    partition.pending_isr = frozenset({2})
    log.log_end_offset = 150  # more records arrive while the AlterPartition is in flight
    partition.maybe_advance_hw()
    assert partition.high_watermark == 100  # not acknowledged until replica 2 has them
    partition.record_follower_fetch(2, 150, 0)
    assert partition.high_watermark == 150


def test_leader_rebalance_returns_leaderships_to_preferred_replicas(controller):
    controller.create_topics([{"name": "t", "num_partitions": 6, "replication_factor": 3}])
    controller.broker_lost(1, "test")
    controller.register_broker(1, "127.0.0.1", 9001, "a", ["/d1"])
    # Broker 1 is back but not yet in the ISRs it left: nothing to move yet.
    assert controller.rebalance_leaders() == 0
    for index, state in enumerate(controller.image.topics["t"].partitions):
        if 1 not in state.isr:
            controller.alter_partition(state.leader, "t", index, state.leader_epoch, state.partition_epoch,
                                       [*state.isr, 1])
    assert controller.rebalance_leaders() == 2
    assert all(p.leader == p.replicas[0] for p in controller.image.topics["t"].partitions)
    assert controller.rebalance_leaders() == 0


def test_a_metadata_delta_carries_the_changed_topics_and_rebuilds_the_image(controller):
    from partita.engine.cluster.metadata import MetadataImage

    controller.create_topics([{"name": n, "num_partitions": 2, "replication_factor": 3} for n in ("a", "b", "c")])
    base = controller.image
    held = MetadataImage.from_json(base.to_json())  # what a broker holds: equal content, its own objects
    state = base.topics["a"].partitions[0]
    controller.alter_partition(state.leader, "a", 0, state.leader_epoch, state.partition_epoch,
                               [r for r in state.isr if r != state.leader][:1] + [state.leader])
    controller.delete_topics(["c"])
    controller.alter_configs([{"resource_type": 4, "resource_name": "", "configs": [
        {"name": "log.retention.ms", "value": "1000", "op": 0}]}])
    new = controller.image

    delta = new.delta_json(base)
    assert [t["name"] for t in delta["topics"]] == ["a"] and delta["deleted"] == ["c"]
    rebuilt = held.with_delta(delta)
    assert rebuilt.to_json() == new.to_json()
    assert rebuilt.topics["b"] is held.topics["b"]  # untouched topics stay the very objects
    assert rebuilt.broker_configs is not held.broker_configs  # they changed
    again = rebuilt.with_delta(new.delta_json(new))  # nothing changed: the configs object is kept
    assert again.broker_configs is rebuilt.broker_configs and again.to_json() == new.to_json()


def test_controlled_shutdown_moves_leaderships_and_leaves_isrs_while_the_broker_stays_listed(controller):
    """Kafka's controlled shutdown: in one change, the broker's leaderships go to other in-sync
    replicas and it leaves every ISR it shares; a partition it is the only in-sync replica of
    loses its leader but keeps it in the ISR (it is the one that can come back clean)."""
    controller.create_topics([{"name": "t", "num_partitions": 6, "replication_factor": 3},
                              {"name": "solo", "num_partitions": 3, "replication_factor": 1}])
    before = controller.image
    image = controller.begin_controlled_shutdown(2)
    assert image is controller.image and image.version == before.version + 1
    assert image.brokers[2].alive and image.brokers[2].shutting_down  # still listed, still serving
    for old, new in zip(before.topics["t"].partitions, image.topics["t"].partitions, strict=True):
        assert 2 not in new.isr and new.leader in new.isr and new.leader != 2
        if old.leader == 2:
            assert new.leader_epoch == old.leader_epoch + 1
    [solo] = [i for i, p in enumerate(before.topics["solo"].partitions) if p.leader == 2]
    assert image.topics["solo"].partitions[solo].leader == NO_LEADER
    assert image.topics["solo"].partitions[solo].isr == (2,)
    assert image.controller_id != 2
    assert controller.begin_controlled_shutdown(2) is image  # asked again: nothing more to do


def test_a_broker_in_controlled_shutdown_leads_and_joins_nothing_until_it_registers_again(controller):
    controller.create_topics([{"name": "t", "num_partitions": 3, "replication_factor": 3}])
    controller.begin_controlled_shutdown(1)
    state = controller.image.topics["t"].partitions[0]
    # a leader seeing it caught up may not put it back in the ISR (Kafka: INELIGIBLE_REPLICA)
    result = controller.alter_partition(state.leader, "t", 0, state.leader_epoch, state.partition_epoch,
                                        [*state.isr, 1])
    assert result["error_code"] == 107
    assert controller.rebalance_leaders() == 0  # it is the preferred leader of some: not now
    controller.create_topics([{"name": "new", "num_partitions": 4, "replication_factor": 2}])
    assert all(1 not in p.replicas for p in controller.image.topics["new"].partitions)
    controller.broker_lost(1, "its process ended")
    assert not controller.image.brokers[1].alive and not controller.image.brokers[1].shutting_down
    controller.register_broker(1, "127.0.0.1", 9001, "a", ["/d1"])
    assert controller.image.brokers[1].usable


def test_a_stop_someone_asked_for_is_logged_as_information_a_loss_as_a_warning(controller, caplog):
    caplog.set_level("INFO", logger="partita.engine.cluster.controller")
    controller.broker_lost(3, "controlled shutdown done", expected=True)
    controller.broker_lost(2, "process 42 ended with code -9")
    [stopped] = [r for r in caplog.records if "broker 3" in r.getMessage()]
    [lost] = [r for r in caplog.records if "broker 2" in r.getMessage()]
    assert (stopped.levelname, lost.levelname) == ("INFO", "WARNING")
    assert "broker 3 stopped" in stopped.getMessage() and "broker 2 lost" in lost.getMessage()


def test_placement_puts_fenced_brokers_only_where_no_unfenced_one_serves_and_never_first():
    """As Kafka's StripedReplicaPlacer: racks first, then unfenced brokers; leaders unfenced."""
    a1, b2, a4 = BrokerInfo(1, "h", 1, "a"), BrokerInfo(2, "h", 2, "b"), BrokerInfo(4, "h", 4, "a")
    c3 = BrokerInfo(3, "h", 3, "c")
    assert assign([a1, b2], 4, 3, fenced=[c3]) == [[1, 2, 3], [2, 1, 3], [1, 2, 3], [2, 1, 3]]
    # rack c's only broker is fenced: it still gets the third replica, before another broker of rack a
    assert {tuple(sorted(r)) for r in assign([a1, b2, a4], 6, 3, fenced=[c3])} == {(1, 2, 3), (2, 3, 4)}
    assert all(3 not in r for r in assign([a1, b2], 6, 1, fenced=[c3]))
    assert all(3 not in r for r in assign([a1, b2, a4], 6, 2, fenced=[c3]))
    with pytest.raises(PlacementError, match="^All brokers are currently fenced.$"):
        assign([], 1, 1, fenced=[c3])
    with pytest.raises(PlacementError, match="of 4 cannot be reached because only 3 broker"):
        assign([a1, b2], 1, 4, fenced=[c3])


def test_new_partitions_while_a_broker_is_down_follow_it_and_are_led_by_live_ones(controller):
    """Kafka places replicas on a fenced (registered, down) broker: not as leader, not in the ISR.
    A manual assignment with only such brokers is refused; a broker in controlled shutdown gets
    none."""
    controller.broker_lost(3, "test")
    [ok, rf4, fenced] = controller.create_topics([
        {"name": "t", "num_partitions": 6, "replication_factor": 3},
        {"name": "rf4", "num_partitions": 1, "replication_factor": 4},
        {"name": "m", "assignments": {"0": [1], "1": [3]}},
    ])
    assert ok["error_code"] == 0
    for p in controller.image.topics["t"].partitions:
        assert sorted(p.replicas) == [1, 2, 3] and p.leader in (1, 2) and p.leader == p.replicas[0]
        assert p.isr == tuple(r for r in p.replicas if r != 3)
    assert (rf4["error_code"], rf4["error_message"]) == (38, "Unable to replicate the partition 4 time(s): The "
                                                         "target replication factor of 4 cannot be reached because "
                                                         "only 3 broker(s) are registered.")
    assert (fenced["error_code"], fenced["error_message"]) == (39, "All brokers specified in the manual partition "
                                                               "assignment for partition 1 are fenced or in "
                                                               "controlled shutdown.")
    [grown] = controller.create_partitions([{"name": "t", "count": 7, "assignments": [[3, 2, 1]]}])
    assert grown["error_code"] == 0
    assert controller.image.topics["t"].partitions[6] == PartitionState((3, 2, 1), (2, 1), 2)
    controller.begin_controlled_shutdown(2)
    [refused] = controller.create_topics([{"name": "rf3", "num_partitions": 1, "replication_factor": 3}])
    assert refused["error_code"] == 38 and "only 2 broker(s) are registered" in refused["error_message"]
