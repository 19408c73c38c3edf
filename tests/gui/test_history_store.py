"""The local history: what a refresh leaves in SQLite and how an incident is read back."""

from __future__ import annotations

from partita.gui.domain.health import HealthCounts
from partita.gui.services.history import HistoryStore


def counts(down=0, urp=0, offline=0):
    return HealthCounts(3 - down, down, 0, 2, 10, urp, offline, 0, ())


P1 = ("orders", 0, 1, (1, 2), (1,), ("URP",))
P2 = ("orders", 1, None, (3,), (3,), ("OFFLINE",))


def test_samples_events_and_the_problem_partitions_at_a_moment(tmp_path):
    store = HistoryStore(tmp_path / "h.db")
    store.record("c1", 100.0, counts(), 5.0, [], [])
    store.record("c1", 105.0, counts(down=1, urp=1, offline=1), 0.0,
                 [(105.0, "broker down", "broker 3 down")], [P1, P2])
    store.record("c1", 110.0, counts(down=1, urp=1, offline=1), 0.0, [], [P1, P2])  # same set: not stored again
    store.record("c1", 115.0, counts(), 7.5, [(115.0, "broker up", "broker 3 up")], [])
    store.record("other", 112.0, counts(down=2), None, [], [P1])
    assert [(s.at, s.brokers_down, s.offline) for s in store.samples("c1")] == [
        (100.0, 0, 0), (105.0, 1, 1), (110.0, 1, 1), (115.0, 0, 0)]
    assert store.events("c1", since=101) == [(105.0, "broker down", "broker 3 down"), (115.0, "broker up", "broker 3 up")]
    assert store.problems_at("c1", 99.0) == (None, [])
    assert store.problems_at("c1", 112.0) == (105.0, [P1, P2])
    assert store.problems_at("c1", 120.0) == (115.0, [])
    assert store.problems_at("other", 120.0) == (112.0, [P1])
    assert [(c.cluster, c.first, c.last, c.samples) for c in store.clusters()] == [
        ("c1", 100.0, 115.0, 4), ("other", 112.0, 112.0, 1)]
    assert store.db.execute("select count(*) from problems where cluster = 'c1'").fetchone()[0] == 2
    store.close()
    reopened = HistoryStore(tmp_path / "h.db")  # a new session knows the last set stored
    reopened.record("c1", 120.0, counts(), None, [], [])
    assert reopened.db.execute("select count(*) from problems where cluster = 'c1'").fetchone()[0] == 2


def test_old_rows_go_but_the_state_at_the_cut_stays(tmp_path):
    store = HistoryStore(tmp_path / "h.db", retention_days=1)
    day = 86400.0
    store.record("c", 1 * day, counts(urp=1), None, [(1 * day, "ISR shrink", "x")], [P1])
    store.record("c", 2 * day, counts(urp=1), None, [], [P1])
    store.record("c", 3 * day + 10, counts(), None, [], [])  # prunes what is older than a day before it
    assert [s.at for s in store.samples("c")] == [3 * day + 10]
    assert store.events("c") == []
    assert store.problems_at("c", 2.5 * day) == (1 * day, [P1])  # the set in force at the cut
    assert store.problems_at("c", 3 * day + 20) == (3 * day + 10, [])


def test_the_plot_breaks_where_the_console_was_not_recording():
    from partita.gui.qt.history_view import _gaps

    assert _gaps([0, 5, 10, 15, 100, 105, 110]) == {4}
    assert _gaps([0, 5, 10]) == set() and _gaps([]) == set()


def test_lag_is_a_total_per_refresh_and_the_most_lagging_groups_every_30_s(tmp_path):
    store = HistoryStore(tmp_path / "h.db")
    store.record("c", 100.0, counts(), None, [], [], 500, [("billing", 400), ("audit", 100)])
    store.record("c", 110.0, counts(), None, [], [], 900, [("billing", 900)])  # 10 s later: groups not kept
    store.record("c", 131.0, counts(), None, [], [], 0, [])
    assert [(s.at, s.total_lag) for s in store.samples("c")] == [(100.0, 500), (110.0, 900), (131.0, 0)]
    assert store.lagging_at("c", 99.0) == (None, [])
    assert store.lagging_at("c", 120.0) == (100.0, [("billing", 400), ("audit", 100)])
    assert store.lagging_at("c", 140.0) == (131.0, [])  # none lagging then: kept as such


def test_a_history_from_before_lag_was_kept_opens_and_gains_the_column(tmp_path):
    import sqlite3

    old = sqlite3.connect(tmp_path / "h.db")
    old.execute("create table samples (cluster text, at real, brokers_up integer, brokers_down integer,"
                " partitions integer, under_replicated integer, offline integer, under_min_isr integer,"
                " messages_per_s real)")
    old.execute("insert into samples values ('c', 1.0, 3, 0, 10, 0, 0, 0, 2.5)")
    old.commit()
    old.close()
    store = HistoryStore(tmp_path / "h.db")
    store.record("c", 2.0, counts(), 1.0, [], [], 7, [])
    assert [(s.at, s.total_lag) for s in store.samples("c")] == [(1.0, None), (2.0, 7)]


def test_the_most_lagging_groups_come_from_the_groups_table():
    from partita.gui.domain import history as H
    from partita.gui.domain import tables as T

    from .factories import group, snapshot

    s = snapshot(groups=[group("billing"), group("idle", offsets=())])
    total, lagging = H.lag_of_groups(T.groups_table(s))
    assert total == 40 and lagging == [("billing", 40)]  # orders-0: 100 - 60, orders-1: 50 - 50
    assert H.lag_of_groups(T.groups_table(snapshot())) == (None, [])
