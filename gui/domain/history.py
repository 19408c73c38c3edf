"""What the history keeps of a refresh, and the tables the History view shows of it. Pure."""

from __future__ import annotations

from .tables import GROUP_TOTAL_LAG, Column, Table

# (topic, partition, leader, replicas, isr, flags): a partition with a flag, as stored
ProblemRow = tuple[str, int, int | None, tuple[int, ...], tuple[int, ...], tuple[str, ...]]

LAGGING_GROUPS = 10  # the most lagging groups a refresh keeps (every LAG_EVERY_S at most)
LAG_EVERY_S = 30.0

EVENT_COLUMNS = (Column("Time"), Column("Event"), Column("What"))
LAG_COLUMNS = (Column("Group"), Column("Total lag", "int"))
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


def lag_of_groups(groups: Table) -> tuple[int | None, list[tuple[str, int]]]:
    """The total lag of every group (None when no group's lag is known) and the groups with
    lag, most first, at most LAGGING_GROUPS of them (from tables.groups_table)."""
    lags = [(r[0], r[GROUP_TOTAL_LAG]) for r in groups.rows if r[GROUP_TOTAL_LAG] is not None]
    if not lags:
        return None, []
    lagging = sorted((g for g in lags if g[1] > 0), key=lambda g: (-g[1], g[0]))[:LAGGING_GROUPS]
    return sum(lag for _, lag in lags), lagging


def lag_table(groups: list[tuple[str, int]]) -> Table:
    return Table(LAG_COLUMNS, [g for g, _ in groups], [tuple(g) for g in groups])


def events_table(events: list[tuple[float, str, str]], clock) -> Table:
    rows = [(clock(at), kind, text) for at, kind, text in events]
    return Table(EVENT_COLUMNS, list(range(len(rows))), rows)


def problems_table(problems: list[ProblemRow]) -> Table:
    rows = [(t, p, leader, tuple(replicas), tuple(isr), tuple(flags)) for t, p, leader, replicas, isr, flags in problems]
    return Table(PROBLEM_COLUMNS, [(r[0], r[1]) for r in rows], rows)
