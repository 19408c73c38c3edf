"""The rack failure audit: what losing one rack would do, judged from a snapshot."""

from __future__ import annotations

from partita.gui.domain import rack_audit as ra
from partita.gui.domain.snapshot import Broker, ClusterSnapshot, Partition, Topic

from .factories import snapshot


def cluster(brokers: dict[int, str | None], partitions, *, down=(), min_isr=2) -> ClusterSnapshot:
    by_topic: dict[str, list[Partition]] = {}
    for p in partitions:
        by_topic.setdefault(p.topic, []).append(p)
    return ClusterSnapshot(
        taken_at=1.0, bootstrap="127.0.0.1:9092", cluster_id="x", controller_id=1,
        brokers=tuple(Broker(i, "127.0.0.1", 9000 + i, rack, i not in down) for i, rack in brokers.items()),
        topics=tuple(Topic(n, tuple(ps), min_insync_replicas=min_isr) for n, ps in sorted(by_topic.items())),
    )


def by_domain(s) -> dict[str, ra.DomainAudit]:
    return {d.domain: d for d in ra.audit(s)}


def effects(d: ra.DomainAudit) -> dict[tuple[str, int], str]:
    return {(r.topic, r.partition): r.effect for r in d.risks}


def test_replicas_spread_over_three_racks_survive_any_one_rack():
    audits = ra.audit(snapshot())  # RF 3 over racks a, b, c; min.insync.replicas 2
    assert [d.domain for d in audits] == ["a", "b", "c"]
    assert all(d.risks == () and d.counts == (0, 0, 0) and d.partitions_with_a_replica == 3 for d in audits)


def test_two_replicas_in_one_rack_go_offline_with_it_and_only_with_it():
    # brokers 1 and 4 share rack a: a partition on [1, 4] has no copy anywhere else
    s = cluster({1: "a", 2: "b", 3: "c", 4: "a"}, [
        Partition("t", 0, 1, (1, 4), (1, 4)),
        Partition("t", 1, 2, (2, 3), (2, 3)),
        Partition("t", 2, 1, (1, 2, 3), (1, 2, 3)),
    ])
    audits = by_domain(s)
    assert effects(audits["a"]) == {("t", 0): ra.OFFLINE}
    assert audits["a"].brokers == (1, 4) and audits["a"].counts == (1, 0, 0)
    assert audits["a"].partitions_with_a_replica == 2
    # losing b: t-1 keeps one in-sync replica, below min.insync.replicas 2 (RF 2 counts up to 2)
    assert effects(audits["b"]) == {("t", 1): ra.REFUSES_ACKS_ALL}
    assert audits["b"].risks[0].survivors == (3,)


def test_an_out_of_sync_replica_outside_the_rack_does_not_save_the_partition():
    # broker 2 (rack b) holds a replica but is not in the ISR: unclean election is off
    s = cluster({1: "a", 2: "b"}, [Partition("t", 0, 1, (1, 2), (1,))], min_isr=1)
    assert effects(by_domain(s)["a"]) == {("t", 0): ra.OFFLINE}
    assert by_domain(s)["b"].risks == ()  # losing b changes nothing: its replica was already out


def test_min_isr_counts_up_to_the_replica_count_and_one_copy_is_reported():
    s = cluster({1: "a", 2: "b", 3: "c"}, [
        Partition("rf1", 0, 1, (1,), (1,)),  # min.insync.replicas 2 on RF 1 is 1 (Kafka 4)
        Partition("rf2", 0, 2, (2, 3), (2, 3)),
    ], min_isr=1)
    audits = by_domain(s)
    assert effects(audits["a"]) == {("rf1", 0): ra.OFFLINE}
    assert effects(audits["b"]) == {("rf2", 0): ra.ONE_COPY_LEFT}


def test_brokers_without_a_rack_are_each_a_domain_and_what_is_down_already_counts():
    s = cluster({1: None, 2: None, 3: None}, [
        Partition("t", 0, 1, (1, 2, 3), (1, 2)),  # broker 3 down, out of the ISR
        Partition("t", 1, -1, (3,), (3,)),  # already offline: nobody's fault here
    ], down=(3,))
    audits = by_domain(s)
    assert sorted(audits) == ["broker 1 (no rack)", "broker 2 (no rack)", "broker 3 (no rack)"]
    assert effects(audits["broker 1 (no rack)"]) == {("t", 0): ra.REFUSES_ACKS_ALL}
    assert audits["broker 3 (no rack)"].brokers_down == 1 and audits["broker 3 (no rack)"].risks == ()
    assert audits["broker 3 (no rack)"].partitions_with_a_replica == 2


def test_a_partition_already_short_of_in_sync_replicas_is_not_blamed_on_a_rack():
    s = cluster({1: "a", 2: "b", 3: "c"}, [Partition("t", 0, 1, (1, 2, 3), (1,))], min_isr=2)
    assert all(d.risks == () for d in ra.audit(s))


def test_risks_are_sorted_worst_first():
    s = cluster({1: "a", 2: "b", 3: "c"}, [
        Partition("z", 0, 1, (1, 2), (1, 2)),  # losing a: one copy left... and below min 2
        Partition("m", 0, 1, (1, 3, 2), (1, 3, 2)),  # losing a: two left, fine
        Partition("b", 0, 1, (1,), (1,)),  # losing a: offline
        Partition("y", 0, 2, (2, 1, 3), (2, 1, 3)),
    ], min_isr=1)
    a = by_domain(s)["a"]
    assert [(r.topic, r.effect) for r in a.risks] == [("b", ra.OFFLINE), ("z", ra.ONE_COPY_LEFT)]


def test_judged_per_broker_a_partition_doubled_in_one_rack_survives_either_broker():
    # the question before a restart: one broker, not its whole rack
    s = cluster({1: "a", 2: "b", 3: "c", 4: "a", 10: "b"}, [
        Partition("t", 0, 1, (1, 4), (1, 4)),
        Partition("t", 1, 2, (2, 3), (2, 3)),
        Partition("t", 2, 10, (10,), (10,)),
    ])
    audits = {d.domain: d for d in ra.audit(s, per_broker=True)}
    assert list(audits) == ["broker 1", "broker 2", "broker 3", "broker 4", "broker 10"]  # in id order
    assert effects(audits["broker 1"]) == {("t", 0): ra.REFUSES_ACKS_ALL}  # rack a would take it offline
    assert effects(by_domain(s)["a"]) == {("t", 0): ra.OFFLINE}
    assert audits["broker 1"].brokers == (1,) and audits["broker 1"].partitions_with_a_replica == 1
    assert effects(audits["broker 10"]) == {("t", 2): ra.OFFLINE}
