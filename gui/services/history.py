"""A cluster's history in SQLite on this machine, so an incident can be replayed afterwards
without Prometheus or JMX.

The builder process writes it after each refresh (it holds the snapshot; the GUI process never
touches the file from its GUI thread), the History view reads it through the task thread. Per
cluster (its id, else its bootstrap servers):

  samples   one row per refresh: brokers up/down, partitions, under-replicated, offline,
            under-min-ISR, messages/s
  events    what changed between refreshes (broker down, leader and ISR changes, …), as the
            overview lists them
  problems  the partitions with a flag (URP, OFFLINE, <MIN-ISR), written only when that set
            changes (zlib-compressed JSON: thousands of rows while a broker is down)
  lags      the most lagging consumer groups, every 30 s at most (the total lag of all
            groups is in every sample)

Rows older than `retention_days` go, at most once an hour. WAL mode: the view reads while the
builder writes. Plain sqlite3, not sqlite-utils (the profiles' store): sqlite-utils imports
numpy when it is installed, 30 MB in a builder process that has to stay small.
"""

from __future__ import annotations

import json
import sqlite3
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

from partita.gui.domain.health import HealthCounts
from partita.gui.domain.history import LAG_EVERY_S

from .profiles import data_dir

RETENTION_DAYS = 7.0
PRUNE_EVERY_S = 3600.0
ENV_OFF = "PARTITA_HISTORY"  # =off: keep no history


def default_path() -> Path:
    return data_dir() / "history.db"


@dataclass(frozen=True, slots=True)
class Sample:
    at: float
    brokers_up: int
    brokers_down: int
    partitions: int
    under_replicated: int
    offline: int
    under_min_isr: int
    messages_per_s: float | None
    total_lag: int | None = None


@dataclass(frozen=True, slots=True)
class ClusterHistory:
    cluster: str
    first: float
    last: float
    samples: int


class HistoryStore:
    def __init__(self, path: Path | str | None = None, retention_days: float = RETENTION_DAYS) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.retention_s = retention_days * 86400
        self.db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._create()
        self._pruned_at = 0.0
        self._last_problems: dict[str, bytes] = {}  # per cluster, the last set stored (JSON)
        self._lags_at: dict[str, float] = {}

    def _create(self) -> None:
        with self.db:
            self.db.executescript(
                "create table if not exists samples (cluster text, at real, brokers_up integer,"
                " brokers_down integer, partitions integer, under_replicated integer, offline integer,"
                " under_min_isr integer, messages_per_s real);"
                "create index if not exists samples_at on samples (cluster, at);"
                "create table if not exists events (cluster text, at real, kind text, text text);"
                "create index if not exists events_at on events (cluster, at);"
                "create table if not exists problems (cluster text, at real, partitions blob);"
                "create index if not exists problems_at on problems (cluster, at);"
                "create table if not exists lags (cluster text, at real, grp text, lag integer);"
                "create index if not exists lags_at on lags (cluster, at);")
            columns = {row[1] for row in self.db.execute("pragma table_info(samples)")}
            if "total_lag" not in columns:  # a history written before lag was kept
                self.db.execute("alter table samples add column total_lag integer")

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- writing (the builder process) ---------------------------------------------------------

    def record(self, cluster: str, at: float, counts: HealthCounts, messages_per_s: float | None,
               events: list[tuple[float, str, str]], problems: list[tuple], total_lag: int | None = None,
               lagging: list[tuple[str, int]] = ()) -> None:
        """One refresh. `problems`: (topic, partition, leader, replicas, isr, flags) of every
        flagged partition; stored when it differs from the last set stored for the cluster.
        `lagging`: (group, lag) of the most lagging groups, kept every LAG_EVERY_S at most."""
        listed = json.dumps(problems, separators=(",", ":")).encode()
        with self.db:
            self.db.execute(
                "insert into samples (cluster, at, brokers_up, brokers_down, partitions, under_replicated, offline,"
                " under_min_isr, messages_per_s, total_lag) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (
                    cluster, at, counts.brokers_up, counts.brokers_down, counts.partitions,
                    counts.under_replicated, counts.offline, counts.under_min_isr, messages_per_s, total_lag))
            if at - self._lags_at.get(cluster, float("-inf")) >= LAG_EVERY_S:
                self._lags_at[cluster] = at
                # no group lagging is kept too (one row without a group), or an old list would stand
                self.db.executemany("insert into lags values (?, ?, ?, ?)",
                                    [(cluster, at, group, lag) for group, lag in lagging] or [(cluster, at, None, None)])
            self.db.executemany("insert into events values (?, ?, ?, ?)",
                                [(cluster, e_at, kind, text) for e_at, kind, text in events])
            last = self._last_problems.get(cluster)
            if last is None:
                row = self.db.execute(
                    "select partitions from problems where cluster = ? order by at desc limit 1", [cluster]).fetchone()
                last = zlib.decompress(row[0]) if row else b"[]"
            if listed != last:  # compressed only when it is stored
                self.db.execute("insert into problems values (?, ?, ?)", (cluster, at, zlib.compress(listed, 6)))
            self._last_problems[cluster] = listed
        if at - self._pruned_at > PRUNE_EVERY_S:
            self.prune(at - self.retention_s)
            self._pruned_at = at

    def prune(self, before: float) -> None:
        with self.db:
            for table in ("samples", "events", "lags"):
                self.db.execute(f"delete from {table} where at < ?", [before])
            # keep, per cluster, the last problem set from before the cut: it is still the state then
            self.db.execute(
                "delete from problems where at < ? and rowid not in "
                "(select rowid from problems p where at = (select max(at) from problems q "
                " where q.cluster = p.cluster and q.at < ?))", [before, before])

    # -- reading (the History view, on the task thread) ----------------------------------------

    def clusters(self) -> list[ClusterHistory]:
        rows = self.db.execute(
            "select cluster, min(at), max(at), count(*) from samples group by cluster order by max(at) desc")
        return [ClusterHistory(*r) for r in rows]

    def samples(self, cluster: str, since: float = 0.0, until: float | None = None) -> list[Sample]:
        rows = self.db.execute(
            "select at, brokers_up, brokers_down, partitions, under_replicated, offline, under_min_isr, "
            "messages_per_s, total_lag from samples where cluster = ? and at >= ? and at <= ? order by at",
            [cluster, since, until if until is not None else time.time() + 86400])
        return [Sample(*r) for r in rows]

    def events(self, cluster: str, since: float = 0.0, until: float | None = None) -> list[tuple[float, str, str]]:
        return [tuple(r) for r in self.db.execute(
            "select at, kind, text from events where cluster = ? and at >= ? and at <= ? order by at, rowid",
            [cluster, since, until if until is not None else time.time() + 86400])]

    def problems_at(self, cluster: str, at: float) -> tuple[float | None, list[tuple]]:
        """The flagged partitions as they were at `at` (the last set stored before it), and when
        that set was stored."""
        row = self.db.execute(
            "select at, partitions from problems where cluster = ? and at <= ? order by at desc limit 1",
            [cluster, at]).fetchone()
        if row is None:
            return None, []
        return row[0], [tuple(tuple(v) if isinstance(v, list) else v for v in p)
                        for p in json.loads(zlib.decompress(row[1]))]

    def lagging_at(self, cluster: str, at: float) -> tuple[float | None, list[tuple[str, int]]]:
        """The most lagging groups as last kept at or before `at` (and when that was)."""
        row = self.db.execute("select max(at) from lags where cluster = ? and at <= ?", [cluster, at]).fetchone()
        if row is None or row[0] is None:
            return None, []
        rows = self.db.execute("select grp, lag from lags where cluster = ? and at = ? and grp is not null"
                               " order by lag desc, grp", [cluster, row[0]])
        return row[0], [tuple(r) for r in rows]
