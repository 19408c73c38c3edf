"""What the history keeps of a refresh, and the tables the History view shows of it. Pure."""

from __future__ import annotations

from .tables import Column, Table

# (topic, partition, leader, replicas, isr, flags): a partition with a flag, as stored
ProblemRow = tuple[str, int, int | None, tuple[int, ...], tuple[int, ...], tuple[str, ...]]

EVENT_COLUMNS = (Column("Time"), Column("Event"), Column("What"))
PROBLEM_COLUMNS = (
    Column("Topic"),
    Column("Partition", "int"),
    Column("Leader", "int"),
    Column("Replicas", "ids"),
    Column("ISR", "ids"),
    Column("Flags", "flags"),
)


def problem_rows(partitions: Table) -> list[ProblemRow]:
    """The flagged partitions of a partitions table (tables.partitions_table)."""
    return [(r[0], r[1], r[2], r[3][0], r[4], r[7]) for r in partitions.rows if r[7]]


def events_table(events: list[tuple[float, str, str]], clock) -> Table:
    rows = [(clock(at), kind, text) for at, kind, text in events]
    return Table(EVENT_COLUMNS, list(range(len(rows))), rows)


def problems_table(problems: list[ProblemRow]) -> Table:
    rows = [(t, p, leader, tuple(replicas), tuple(isr), tuple(flags)) for t, p, leader, replicas, isr, flags in problems]
    return Table(PROBLEM_COLUMNS, [(r[0], r[1]) for r in rows], rows)
