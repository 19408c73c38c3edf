
import dataclasses

from partita.gui.domain import events, health, rates, tables
from partita.gui.domain.events import EventKind
from partita.gui.domain.snapshot import NO_LEADER, LogDir, Partition

from .factories import group, snapshot


def test_healthy_cluster_has_no_problem_partitions():
    s = snapshot()
    h = health.health_counts(s)
    assert (h.brokers_up, h.brokers_down, h.topics, h.partitions) == (3, 0, 1, 3)
    assert (h.under_replicated, h.offline, h.under_min_isr) == (0, 0, 0)


def test_dead_broker_makes_partitions_under_replicated_and_offline_replicas():
    parts = [
        Partition("t", 0, 1, (1, 2, 3), (1, 2)),
        Partition("t", 1, NO_LEADER, (3,), (3,)),
        Partition("t", 2, 2, (2, 3), (2,)),
    ]
    s = snapshot(alive=(1, 2), partitions=parts, min_isr=2)
    assert [p.partition for p in health.under_replicated_partitions(s)] == [0, 2]
    assert [p.partition for p in health.offline_partitions(s)] == [1]
    assert [p.partition for p in health.under_min_isr_partitions(s)] == [1, 2]
    assert health.offline_replicas(parts[0], s.alive_broker_ids) == (3,)
    assert health.partition_flags(parts[1], s.alive_broker_ids, 2) == ("OFFLINE", "<MIN-ISR")
    assert parts[0].out_of_sync == (3,)


def test_leader_on_dead_broker_counts_offline():
    s = snapshot(alive=(2, 3), partitions=[Partition("t", 0, 1, (1, 2), (1,))])
    assert health.health_counts(s).offline == 1


def test_leader_and_replica_counts_per_broker():
    s = snapshot()
    assert health.leader_counts(s) == {1: 1, 2: 1, 3: 1}
    assert health.replica_counts(s) == {1: 3, 2: 3, 3: 3}
    s2 = snapshot(partitions=[Partition("t", 0, 2, (2, 3), (2, 3)), Partition("t", 1, 2, (2,), (2,))])
    assert health.leader_counts(s2) == {1: 0, 2: 2, 3: 0}
    assert [p.partition for p in health.partitions_on_broker(s2, 3)] == [0]


def test_lag_is_end_minus_committed_per_partition_and_group():
    g = group(offsets=((("orders", 0), 60), (("orders", 1), 50)))
    s = snapshot(groups=[g])
    assert health.group_lag(s, g) == 40 + 0
    keys, rows = tables.group_partition_rows(tables.group_detail(s, g))
    assert keys == [("orders", 0), ("orders", 1)]
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [(0, 60, 100, 40), (1, 50, 50, 0)]
    assert rows[0][6] == "client-0"
    assert health.partition_lag(None, 5) is None
    assert health.partition_lag(-1, 5) is None
    assert health.partition_lag(7, 5) == 0


def test_group_without_offsets_has_unknown_lag():
    g = group(offsets=())
    assert health.group_lag(snapshot(groups=[g]), g) is None


def test_diff_reports_broker_down_leader_change_and_isr_shrink():
    a = snapshot()
    parts = [
        Partition("orders", 0, 2, (1, 2, 3), (2, 3)),
        Partition("orders", 1, 2, (2, 3, 1), (2, 3)),
        Partition("orders", 2, 3, (3, 1, 2), (3, 2)),
    ]
    b = snapshot(taken_at=105, alive=(2, 3), partitions=parts, controller=2)
    evs = events.diff(a, b)
    kinds = [(e.kind, e.partition) for e in evs]
    assert (EventKind.BROKER_DOWN, None) in kinds
    assert (EventKind.CONTROLLER_CHANGE, None) in kinds
    assert (EventKind.LEADER_CHANGE, 0) in kinds
    assert [e.partition for e in evs if e.kind is EventKind.ISR_SHRINK] == [0, 1, 2]
    assert next(e for e in evs if e.kind is EventKind.LEADER_CHANGE).describe() == "orders-0: leader 1 → 2"
    back = events.diff(b, a)
    assert (EventKind.BROKER_UP, None) in [(e.kind, e.partition) for e in back]
    assert [e.partition for e in back if e.kind is EventKind.ISR_EXPAND] == [0, 1, 2]
    assert events.diff(None, a) == []


def test_diff_reports_offline_and_topic_changes():
    a = snapshot(partitions=[Partition("x", 0, 3, (3,), (3,))])
    b = snapshot(alive=(1, 2), partitions=[Partition("x", 0, NO_LEADER, (3,), (3,)), Partition("y", 0, 1, (1,), (1,))])
    kinds = {e.kind for e in events.diff(a, b)}
    assert {EventKind.PARTITION_OFFLINE, EventKind.TOPIC_CREATED, EventKind.BROKER_DOWN} <= kinds


def test_rates_from_end_offset_deltas():
    a = snapshot(taken_at=100.0)
    parts = [p._replace(end_offset=p.end_offset + 20 * (p.partition + 1)) for p in a.partitions]
    b = snapshot(taken_at=102.0, partitions=parts)
    r = rates.rates(a, b)
    assert r.messages_per_s == (20 + 40 + 60) / 2
    assert r.by_topic == (("orders", 60.0),)
    assert r.bytes_per_s == 0.0
    assert rates.rates(b, a) is None


def test_rates_ignore_offsets_going_backwards():
    a = snapshot(taken_at=1.0)
    parts = [p._replace(end_offset=0) for p in a.partitions]
    assert rates.rates(a, snapshot(taken_at=2.0, partitions=parts)).messages_per_s == 0


def test_partitions_table_marks_leader_and_flags():
    parts = [Partition("t", 0, 2, (1, 2, 3), (2, 3), start_offset=0, end_offset=9)]
    s = snapshot(alive=(2, 3), partitions=parts)
    t = tables.partitions_table(s)
    assert t.keys == [("t", 0)]
    row = dict(zip([c.title for c in t.columns], t.rows[0], strict=True))
    assert tables.format_cell("replicas", row["Replicas"]) == "1,2L,3"
    assert row["Out of sync"] == (1,)
    assert row["Offline replicas"] == (1,)
    assert tables.format_cell("flags", row["Flags"]) == "URP"
    assert tables.partitions_table(s, broker=1).keys == [("t", 0)]
    assert tables.partitions_table(snapshot(), broker=9).keys == []


def test_a_log_dir_shows_the_replicas_moving_into_it():
    s = snapshot()
    moving = LogDir("/d1/b", 2048, moving_in=(("orders", 0, 1536),))
    many = LogDir("/d2/b", 0, moving_in=tuple(("orders", p, 1024) for p in range(5)))
    s = dataclasses.replace(s, brokers=(
        dataclasses.replace(s.brokers[0], log_dirs=(*s.brokers[0].log_dirs, moving)),
        dataclasses.replace(s.brokers[1], log_dirs=(many,)),
        s.brokers[2],
    ))
    dirs = {r[0]: r[7] for r in tables.brokers_table(s).rows}
    assert dirs[1] == "/d1/a (1000 B); /d1/b (2.0 KiB; moving in: orders-0 1.5 KiB so far)"
    assert dirs[2] == "/d2/b (0 B; moving in: 5 replicas, 5.0 KiB so far)"
    assert dirs[3] == "/d3/a (2.9 KiB)"


def test_brokers_overview_groups_tables():
    s = snapshot(alive=(1, 3), groups=[group()])
    b = tables.brokers_table(s)
    assert [r[4] for r in b.rows] == ["up", "DOWN", "up"]
    assert b.rows[0][3] == "controller"
    ov = dict(tables.overview_table(s).rows)
    assert ov["Brokers down"] == 1 and ov["Racks"] == "a, b, c"
    g = tables.groups_table(s)
    assert g.rows[0][-1] == 40
    row = dict(zip((c.title for c in g.columns), g.rows[0], strict=True))
    assert (row["Type"], row["Protocol type"], row["Assignor"]) == ("classic", "consumer", "range")
    gp = tables.group_partitions_table(s, "billing")
    assert [r[4] for r in gp.rows] == [40, 0]
    assert tables.group_members_table(s, "billing").rows[0][4] == "orders: 0,1"
    assert tables.group_partitions_table(s, "nope").rows == []
    csv = tables.to_csv_rows(b)
    assert csv[0][0] == "Id" and csv[1][8] == "1000 B"


def test_sort_keys_put_empty_last():
    vals = [5, None, 1]
    assert sorted(vals, key=lambda v: tables.sort_key("int", v)) == [1, 5, None]


def test_many_events_of_a_kind_are_summarised():
    a = snapshot(partitions=[Partition("t", i, 1, (1, 2), (1, 2)) for i in range(100)])
    b = snapshot(partitions=[Partition("t", i, 2, (1, 2), (2,)) for i in range(100)], alive=(2, 3))
    lines = events.summarize(events.diff(a, b))
    texts = [t for _, _, t in lines]
    assert "broker 1 down" in texts
    assert any(t.startswith("leader change on 100 partitions") for t in texts)
    assert len(lines) == 3


def test_sorted_rows_is_stable_both_ways_with_blanks_last():
    cols = (tables.Column("n", "int"), tables.Column("r", "replicas"), tables.Column("f", "flags"))
    rows = [(3, ((2, 1), 2), ("URP",)), (None, None, ()), (1, ((1, 2), 1), ()), (3, ((1, 3), 1), ("URP",)), (1, ((2, 3), 2), ())]
    t = tables.Table(cols, list(range(len(rows))), rows)
    assert tables.sorted_rows(t, 0, False) == [2, 4, 0, 3, 1]
    assert tables.sorted_rows(t, 0, True) == [0, 3, 2, 4, 1]
    assert tables.sorted_rows(t, 1, False) == [2, 3, 0, 4, 1]
    assert tables.sorted_rows(t, 2, True) == [0, 3, 1, 2, 4]


def test_topics_show_messages_per_second_from_the_previous_refresh():
    from partita.gui.domain.view_data import build_view_data

    before = snapshot(taken_at=100.0)
    after = snapshot(taken_at=110.0, partitions=[
        Partition("orders", 0, 1, (1, 2, 3), (1, 2, 3), start_offset=0, end_offset=300),
        Partition("orders", 1, 2, (2, 3, 1), (2, 3, 1), start_offset=10, end_offset=50),
        Partition("orders", 2, 3, (3, 1, 2), (3, 1, 2), start_offset=0, end_offset=0),
    ])
    first = build_view_data(before, None)
    assert first.topics.rows[0][7] is None  # no earlier refresh: no rate yet
    row = build_view_data(after, before).topics.rows[0]
    assert tables.TOPIC_COLUMNS[7].title == "Msgs/s" and row[7] == 20.0  # (300 - 100) / 10 s
    assert tables.format_cell("rate", 1234.56) == "1,234.6"
