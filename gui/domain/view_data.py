"""Everything the views show of one snapshot, built in the builder process.

A ViewData holds finished tables and the few small facts the window shows beside them, never
the snapshot itself: a 50,000-partition snapshot is about a million objects, and the GUI
process would only have to receive, hold and free them.
"""

from __future__ import annotations

import pickle
import time
from array import array
from dataclasses import dataclass, field

from . import events as ev
from . import health as hl
from . import rack_audit as ra
from . import rates as rt
from . import tables as T
from .reassignment import PartitionState
from .snapshot import Broker, ClusterSnapshot


@dataclass(frozen=True)
class ClusterSummary:
    """The small facts of a snapshot: status bar, banner, rack line, tiles."""

    taken_at: float
    bootstrap: str
    cluster_id: str | None
    controller_id: int | None
    brokers: tuple[Broker, ...]
    kafka_version: str | None
    warnings: tuple[str, ...]
    refresh_seconds: float
    requests: int | None
    topic_count: int
    partition_count: int
    group_count: int
    committed_offsets: int

    @classmethod
    def of(cls, s: ClusterSnapshot) -> ClusterSummary:
        return cls(
            s.taken_at,
            s.bootstrap,
            s.cluster_id,
            s.controller_id,
            s.brokers,
            s.kafka_version,
            s.warnings,
            s.refresh_seconds,
            s.requests,
            len(s.topics),
            s.partition_count,
            len(s.groups),
            sum(len(g.offsets) for g in s.groups),
        )


@dataclass(frozen=True)
class ViewData:
    summary: ClusterSummary
    overview: T.Table
    brokers: T.Table
    topics: T.Table
    partitions: T.Table
    groups: T.Table
    # each group's detail (tables.group_detail) pickled: 5,000 small bytes objects at scale
    # instead of 100,000 rows, of which a view shows one group's at a time (group_tables)
    group_details: dict[str, bytes]
    health: hl.HealthCounts
    rates: rt.Rates | None
    event_lines: tuple[tuple[float, str, str], ...]  # (time, kind, text), summarised
    # row indexes into `partitions`, so a view can show one topic's or one broker's partitions
    # without scanning 50,000 rows on the GUI thread
    topic_rows: dict[str, tuple[int, int]]
    broker_rows: dict[int, array]  # array("I"): 4 bytes per replica, not a list of int objects
    # the rack failure audit: one row per rack, the partitions each would hurt, and which
    # rows of the second are whose
    racks: T.Table = T.empty(T.RACK_COLUMNS)
    rack_risks: T.Table = T.empty(T.RACK_RISK_COLUMNS)
    rack_risk_rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    # the same audit, one broker at a time ("what would stopping broker 2 now do?")
    broker_failures: T.Table = T.empty(T.RACK_COLUMNS)
    broker_failure_risks: T.Table = T.empty(T.RACK_RISK_COLUMNS)
    broker_failure_rows: dict[str, tuple[int, int]] = field(default_factory=dict)
    reassignments: T.Table = T.empty(T.REASSIGNMENT_COLUMNS)  # in progress, whoever started them
    # equal for two refreshes of one builder when no partition and no replica list changed: the
    # GUI thread compares this, not 50,000 rows (a new builder may give another value)
    replica_layout: int = 0
    fetched_in: float = 0.0  # seconds to read the cluster and assemble the snapshot
    built_in: float = 0.0  # seconds to build everything here from the snapshot

    def partition_state(self, key: tuple[str, int]) -> PartitionState | None:
        """One partition as the reassignment planner needs it, from the partitions table."""
        topic, partition = key
        first, end = self.topic_rows.get(topic, (0, 0))
        rows = self.partitions.rows
        # a topic's rows are in partition order, so partition n is row first + n unless some are missing
        guess = first + partition
        candidates = (guess,) if first <= guess < end and rows[guess][1] == partition else range(first, end)
        for i in candidates:
            row = rows[i]
            if row[1] == partition:
                return PartitionState(topic, partition, row[2], row[3][0], row[4], row[10], self.min_isr_of(topic))
        return None

    def min_isr_of(self, topic: str) -> int | None:
        i = self._topic_index().get(topic)
        return None if i is None else self.topics.rows[i][3]

    def _topic_index(self) -> dict[str, int]:
        index = self.__dict__.get("_topics_by_name")
        if index is None:
            index = {key: i for i, key in enumerate(self.topics.keys)}
            object.__setattr__(self, "_topics_by_name", index)
        return index

    def group_tables(self, group_id: str) -> tuple[T.Table, T.Table]:
        """The lag-per-partition and members tables of one group (empty for an unknown group)."""
        blob = self.group_details.get(group_id)
        if blob is None:
            return T.empty(T.GROUP_PARTITION_COLUMNS), T.empty(T.GROUP_MEMBER_COLUMNS)
        return T.group_detail_tables(pickle.loads(blob))


def build_view_data(
    snapshot: ClusterSnapshot,
    previous: ClusterSnapshot | None,
    sort_specs: dict | None = None,
    *,
    fetched_in: float = 0.0,
) -> ViewData:
    """`sort_specs` maps a table name to the (column, descending) its view is sorted by, so big
    tables arrive already ordered."""
    t0 = time.perf_counter()
    specs = sort_specs or {}
    partitions = T.with_orders(T.with_search(T.partitions_table(snapshot)), [specs.get("partitions")])
    topic_rows: dict[str, tuple[int, int]] = {}
    broker_rows: dict[int, array] = {}
    for i, row in enumerate(partitions.rows):
        first, _end = topic_rows.get(row[0], (i, i))
        topic_rows[row[0]] = (first, i + 1)
        for b in row[3][0]:
            rows = broker_rows.get(b)
            if rows is None:
                broker_rows[b] = array("I", (i,))
            else:
                rows.append(i)
    group_details: dict[str, bytes] = {}
    lags: dict[str, int | None] = {}
    dumps, protocol = pickle.dumps, pickle.HIGHEST_PROTOCOL
    for g in snapshot.groups:
        detail = T.group_detail(snapshot, g)
        lags[g.group_id] = T.detail_lag(detail)
        group_details[g.group_id] = dumps(detail, protocol)
    health = hl.health_counts(snapshot)
    events = ev.diff(previous, snapshot)
    racks, rack_risks, rack_risk_rows = T.rack_tables(ra.audit(snapshot))
    brokers_failing, broker_risks, broker_risk_rows = T.rack_tables(ra.audit(snapshot, per_broker=True))
    rates = rt.rates(previous, snapshot) if previous is not None else None
    return ViewData(
        summary=ClusterSummary.of(snapshot),
        overview=T.overview_table(snapshot, health),
        brokers=T.brokers_table(snapshot),
        topics=T.with_search(T.topics_table(snapshot, dict(rates.by_topic) if rates is not None else None)),
        partitions=partitions,
        groups=T.with_search(T.groups_table(snapshot, lags)),
        group_details=group_details,
        health=health,
        rates=rates,
        event_lines=tuple(ev.summarize(events)),
        topic_rows=topic_rows,
        broker_rows=broker_rows,
        racks=racks,
        rack_risks=T.with_search(rack_risks),
        rack_risk_rows=rack_risk_rows,
        broker_failures=brokers_failing,
        broker_failure_risks=T.with_search(broker_risks),
        broker_failure_rows=broker_risk_rows,
        reassignments=T.reassignments_table(snapshot),
        replica_layout=hash((tuple(partitions.keys), tuple(row[3][0] for row in partitions.rows))),
        fetched_in=fetched_in,
        built_in=time.perf_counter() - t0,
    )


def rows_of(table: T.Table, indexes) -> T.Table:
    """The rows of `table` at `indexes` (a range from one of the *_rows indexes, or a list)."""
    keys, rows, search = table.keys, table.rows, table.search
    if isinstance(indexes, range) and indexes.step == 1:
        sl = slice(indexes.start, indexes.stop)
        return T.Table(table.columns, keys[sl], rows[sl], None if search is None else search[sl])
    return T.Table(
        table.columns,
        [keys[i] for i in indexes],
        [rows[i] for i in indexes],
        None if search is None else [search[i] for i in indexes],
    )
