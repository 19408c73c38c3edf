"""Tables the views show, projected from a snapshot.

Pure functions that turn a snapshot into rows of raw values (ints, strings, tuples,
None) with one stable key per row. The worker thread builds them, so the GUI thread
only swaps lists in; the Qt models format a cell only when it is painted.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Any

from . import health
from . import rack_audit as ra
from .snapshot import NO_LEADER, ClusterSnapshot


@dataclass(frozen=True, slots=True)
class Column:
    title: str
    kind: str = "text"  # text | int | bytes | ids | flags | bool | replicas
    tip: str = ""


@dataclass(frozen=True, slots=True)
class Table:
    columns: tuple[Column, ...]
    keys: list[Any]
    rows: list[tuple]
    # lower-case text of the text and flag cells per row, for filter boxes (see with_search)
    search: list[str] | None = None
    # row orders computed ahead (off the GUI thread): (column, descending) -> table row indexes
    orders: dict[tuple[int, bool], list[int]] | None = None

    def __len__(self) -> int:
        return len(self.rows)


def empty(columns: tuple[Column, ...]) -> Table:
    return Table(columns, [], [])


# -- overview ----------------------------------------------------------------------------------

OVERVIEW_COLUMNS = (Column("Property"), Column("Value"))


def overview_table(s: ClusterSnapshot, h: health.HealthCounts | None = None) -> Table:
    h = h if h is not None else health.health_counts(s)
    controller = s.controller_id
    ctrl = "unknown" if controller is None else str(controller)
    if controller is not None and controller in s.brokers_by_id:
        ctrl += f" ({s.brokers_by_id[controller].address})"
    rows: list[tuple] = [
        ("Cluster id", s.cluster_id or "unknown"),
        ("Bootstrap servers", s.bootstrap),
        ("Kafka version", s.kafka_version or "unknown"),
        ("Controller", ctrl),
        ("Brokers up", h.brokers_up),
        ("Brokers down", h.brokers_down),
        ("Racks", ", ".join(sorted({b.rack for b in s.brokers if b.rack})) or "none"),
        ("Topics", h.topics),
        ("Partitions", h.partitions),
        ("Under-replicated partitions", h.under_replicated),
        ("Offline partitions", h.offline),
        ("Under-min-ISR partitions", h.under_min_isr),
        ("Leaders not on their preferred replica", h.not_preferred_leader),
        ("Consumer groups", len(s.groups)),
    ]
    if h.brokers_unreachable:
        rows.insert(6, ("Brokers unreachable from here", h.brokers_unreachable))
    zk = s.zookeeper
    if zk is not None:
        if zk.error is not None:
            rows.append(("ZooKeeper", f"{zk.address}: {zk.error}"))
        else:
            rows.append(("ZooKeeper", f"{zk.address}: connected"))
            rows.append(("Controller (ZooKeeper)", "none" if zk.controller_id is None else str(zk.controller_id)))
            rows.append(("Brokers registered (ZooKeeper)", ", ".join(
                f"{i} ({rack})" if rack else str(i) for i, rack in zk.registered) or "none"))
            if zk.reassigning:
                rows.append(("Reassigning (ZooKeeper)", f"{zk.reassigning} partitions"))
    for state, n in h.groups_by_state:
        rows.append((f"Groups {state}", n))
    for w in s.warnings:
        rows.append(("Warning", w))
    return Table(OVERVIEW_COLUMNS, [r[0] if r[0] != "Warning" else ("Warning", r[1]) for r in rows], rows)


# -- brokers -----------------------------------------------------------------------------------

BROKER_COLUMNS = (
    Column("Id", "int"),
    Column("Address"),
    Column("Rack"),
    Column("Controller"),
    Column("State"),
    Column("Leaders", "int"),
    Column("Replicas", "int"),
    Column("Log dirs"),
    Column("Size", "bytes"),
)


def brokers_table(s: ClusterSnapshot) -> Table:
    leaders = health.leader_counts(s)
    replicas = health.replica_counts(s)
    rows = []
    for b in sorted(s.brokers, key=lambda b: b.node_id):
        dirs = "; ".join(_log_dir_text(d) for d in b.log_dirs)
        rows.append(
            (
                b.node_id,
                b.address,
                b.rack or "",
                "controller" if b.node_id == s.controller_id else "",
                ("up" if b.reachable else "UNREACHABLE") if b.alive else "DOWN",
                leaders.get(b.node_id, 0),
                replicas.get(b.node_id, 0),
                dirs,
                b.size_bytes,
            )
        )
    return Table(BROKER_COLUMNS, [r[0] for r in rows], rows)


# -- rack failure audit ------------------------------------------------------------------------

# the partitions view's own flags, so a risk reads as what the partition would then show
RISK_FLAGS = {ra.OFFLINE: ("OFFLINE",), ra.REFUSES_ACKS_ALL: ("<MIN-ISR",), ra.ONE_COPY_LEFT: ("ONE COPY",)}
_RISK_TIP = ("OFFLINE: no in-sync replica left outside it (no leader until it returns); "
             "<MIN-ISR: fewer in-sync replicas left than min.insync.replicas, acks=all writes refused; "
             "ONE COPY: writes go on, on one in-sync replica")
_DOMAIN_TIP = "a rack (a broker without one counts as its own), or one broker when judging brokers"

RACK_COLUMNS = (
    Column("Fault domain", tip=_DOMAIN_TIP),
    Column("Brokers", "ids"),
    Column("Down", "int", "of its brokers, already down"),
    Column("Partitions", "int", "partitions with a replica in it"),
    Column("Offline", "int", "partitions that would go offline if it failed"),
    Column("acks=all refused", "int", "partitions that would refuse acks=all writes if it failed"),
    Column("One copy left", "int", "partitions that would be left with one in-sync replica"),
    Column("If it fails", "flags", _RISK_TIP),
)

RACK_RISK_COLUMNS = (
    Column("Fault domain", tip=_DOMAIN_TIP),
    Column("Topic"),
    Column("Partition", "int"),
    Column("If it fails", "flags", _RISK_TIP),
    Column("Replicas", "ids"),
    Column("ISR", "ids"),
    Column("Left in sync", "ids", "in-sync replicas outside it"),
    Column("min.insync.replicas", "int", "counted up to the replica count, as Kafka 4 does"),
)


def rack_tables(audits: list[ra.DomainAudit]) -> tuple[Table, Table, dict[str, tuple[int, int]]]:
    """The fault domains' summary, every partition at risk (grouped by domain, worst first), and
    each domain's rows in the second table."""
    summary, risks, keys = [], [], []
    ranges: dict[str, tuple[int, int]] = {}
    for d in audits:
        worst = next((RISK_FLAGS[e] for e, n in zip(ra.EFFECTS, d.counts, strict=True) if n), ())
        summary.append((d.domain, d.brokers, d.brokers_down, d.partitions_with_a_replica, *d.counts, worst))
        first = len(risks)
        for r in d.risks:
            risks.append((d.domain, r.topic, r.partition, RISK_FLAGS[r.effect], r.replicas, r.isr, r.survivors,
                          r.min_isr))
            keys.append((d.domain, r.topic, r.partition))
        ranges[d.domain] = (first, len(risks))
    return (Table(RACK_COLUMNS, [row[0] for row in summary], summary),
            Table(RACK_RISK_COLUMNS, keys, risks), ranges)


# -- reassignments in progress ------------------------------------------------------------------

REASSIGNMENT_COLUMNS = (
    Column("Topic"),
    Column("Partition", "int"),
    Column("Replicas", "ids", "the replica set while the reassignment runs"),
    Column("Adding", "ids"),
    Column("Removing", "ids"),
)


def reassignments_table(s: ClusterSnapshot) -> Table:
    rows = [(r.topic, r.partition, r.replicas, r.adding, r.removing) for r in s.reassignments]
    return Table(REASSIGNMENT_COLUMNS, [(r[0], r[1]) for r in rows], rows)


PLAN_COLUMNS = (
    Column("Topic"),
    Column("Partition", "int"),
    Column("Replicas now", "ids"),
    Column("Planned", "ids", "the first is the preferred leader"),
    Column("Adding", "ids"),
    Column("Removing", "ids"),
    Column("To copy", "bytes", "the partition's size times its new replicas"),
    Column("Status"),
)


def plan_table(moves, statuses: list[str]) -> Table:
    """A reassignment plan's moves (reassignment.Move) with where each stands."""
    rows = [(m.state.topic, m.state.partition, m.state.replicas, m.target, m.adding, m.removing, m.bytes_to_copy,
             status) for m, status in zip(moves, statuses, strict=True)]
    return Table(PLAN_COLUMNS, [(r[0], r[1]) for r in rows], rows)


def _log_dir_text(d) -> str:
    if d.error is not None:
        return f"{d.path} ({d.error})"
    if not d.moving_in:
        return f"{d.path} ({_human_bytes(d.size_bytes)})"
    if len(d.moving_in) <= 3:
        moving = ", ".join(f"{t}-{p} {_human_bytes(size)} so far" for t, p, size in d.moving_in)
    else:
        moving = f"{len(d.moving_in)} replicas, {_human_bytes(sum(size for _, _, size in d.moving_in))} so far"
    return f"{d.path} ({_human_bytes(d.size_bytes)}; moving in: {moving})"


def _topic_order(t):
    """Operators' topics first, internal ones (__consumer_offsets…) after them."""
    return (t.internal or t.name.startswith("__"), t.name)


# -- topics ------------------------------------------------------------------------------------

TOPIC_COLUMNS = (
    Column("Topic"),
    Column("Partitions", "int"),
    Column("RF", "int", "replication factor"),
    Column("min.insync", "int"),
    Column("URP", "int", "under-replicated partitions"),
    Column("Offline", "int"),
    Column("Messages", "int", "sum of end minus start offsets"),
    Column("Msgs/s", "rate", "messages per second since the last refresh (end offsets)"),
    Column("Size", "bytes"),
    Column("Internal", "bool"),
)


def topics_table(s: ClusterSnapshot, per_s: dict[str, float] | None = None) -> Table:
    """`per_s`: messages per second by topic (rates.Rates.by_topic); a topic not in it wrote none."""
    alive = s.alive_broker_ids
    rows = []
    for t in sorted(s.topics, key=_topic_order):
        urp = off = 0
        msgs = 0
        size = 0
        known_size = False
        for p in t.partitions:
            urp += len(p.isr) < len(p.replicas)
            off += p.leader == NO_LEADER or p.leader not in alive
            if p.end_offset is not None and p.start_offset is not None:
                msgs += p.end_offset - p.start_offset
            if p.size_bytes is not None:
                size += p.size_bytes
                known_size = True
        rows.append(
            (
                t.name,
                len(t.partitions),
                t.replication_factor,
                t.min_insync_replicas,
                urp,
                off,
                msgs,
                None if per_s is None else per_s.get(t.name, 0.0),
                size if known_size else None,
                t.internal,
            )
        )
    return Table(TOPIC_COLUMNS, [r[0] for r in rows], rows)


# -- partitions --------------------------------------------------------------------------------

PARTITION_COLUMNS = (
    Column("Topic"),
    Column("Partition", "int"),
    Column("Leader", "int"),
    Column("Replicas", "replicas", "L marks the leader"),
    Column("ISR", "ids"),
    Column("Out of sync", "ids"),
    Column("Offline replicas", "ids"),
    Column("Flags", "flags"),
    Column("Start offset", "int"),
    Column("End offset", "int"),
    Column("Size", "bytes"),
)


def partitions_table(s: ClusterSnapshot, broker: int | None = None) -> Table:
    """All partitions, or those with a replica on `broker`. Sorted by topic then partition."""
    alive = s.alive_broker_ids
    rows = []
    keys = []
    # Thousands of partitions share a replica state (leader, replicas, ISR, min.insync): its
    # derived cells are computed once per state, and its tuples are shared by every row with it,
    # which makes the table smaller here, in its pickles and in the GUI process.
    derived_of: dict[tuple, tuple] = {}
    offline_replicas, partition_flags = health.offline_replicas, health.partition_flags
    for t in sorted(s.topics, key=_topic_order):
        name = t.name
        m = t.min_insync_replicas
        for p in sorted(t.partitions, key=_partition_number):
            if broker is not None and broker not in p.replicas:
                continue
            leader = p.leader
            state = (leader, p.replicas, p.isr, p.offline_replicas, m)
            derived = derived_of.get(state)
            if derived is None:
                derived = derived_of[state] = (
                    (p.replicas, leader), p.isr, p.out_of_sync, offline_replicas(p, alive), partition_flags(p, alive, m)
                )
            replicas, isr, out_of_sync, offline, flags = derived
            rows.append((name, p.partition, None if leader == NO_LEADER else leader, replicas, isr, out_of_sync,
                         offline, flags, p.start_offset, p.end_offset, p.size_bytes))
            keys.append((name, p.partition))
    return Table(PARTITION_COLUMNS, keys, rows)


def _partition_number(p) -> int:
    return p.partition


# -- consumer groups ---------------------------------------------------------------------------

GROUP_COLUMNS = (
    Column("Group"),
    Column("State"),
    Column("Type", tip="classic: the members agree on an assignment (JoinGroup/SyncGroup); "
                       "consumer: the broker assigns (KIP-848, Kafka 4+)"),
    Column("Protocol type"),
    Column("Assignor"),
    Column("Coordinator", "int"),
    Column("Members", "int"),
    Column("Partitions", "int", "partitions with a committed offset"),
    Column("Total lag", "int"),
)
GROUP_TOTAL_LAG = len(GROUP_COLUMNS) - 1  # the column other tables read (history.lag_of_groups)


def groups_table(s: ClusterSnapshot, lags: dict[str, int | None] | None = None) -> Table:
    """`lags`: each group's total lag where the caller has it already (detail_lag)."""
    rows = []
    for g in sorted(s.groups, key=lambda g: g.group_id):
        rows.append(
            (
                g.group_id,
                g.state,
                g.group_type,
                g.protocol_type,
                g.protocol,
                g.coordinator,
                len(g.members),
                len(g.offsets),
                lags[g.group_id] if lags is not None else health.group_lag(s, g),
            )
        )
    return Table(GROUP_COLUMNS, [r[0] for r in rows], rows)


GROUP_PARTITION_COLUMNS = (
    Column("Topic"),
    Column("Partition", "int"),
    Column("Committed", "int"),
    Column("End offset", "int"),
    Column("Lag", "int"),
    Column("Member"),
    Column("Client id"),
    Column("Host"),
)


def group_partitions_table(s: ClusterSnapshot, group_id: str) -> Table:
    g = s.groups_by_id.get(group_id)
    if g is None:
        return empty(GROUP_PARTITION_COLUMNS)
    return Table(GROUP_PARTITION_COLUMNS, *group_partition_rows(group_detail(s, g)))


_NO_OWNER = ("", "", "")

# What a group's two detail tables are made of, in plain tuples:
# (members: ((member_id, instance_id, client_id, host, ((topic, partition), ...)), ...),
#  committed: (((topic, partition), offset), ...),
#  end offsets: {(topic, partition): end offset or None} of every partition in either).
GroupDetail = tuple


def group_detail(s: ClusterSnapshot, g) -> GroupDetail:
    """A group's detail, cut loose from the snapshot. The builder makes one per group (5,000 at
    scale) and sends each pickled; rows are made only for the group a view shows."""
    members = tuple((m.member_id, m.group_instance_id, m.client_id, m.host, m.assignment) for m in g.members)
    committed = tuple(((o[0], o[1]), o[2]) for o in g.offsets)
    get_partition = s.partitions_by_key.get
    ends = {}
    for k in chain((k for k, _offset in committed), (k for m in g.members for k in m.assignment)):
        if k not in ends:
            p = get_partition(k)
            ends[k] = None if p is None else p.end_offset
    return members, committed, ends


def detail_lag(detail: GroupDetail) -> int | None:
    """A group's total lag over its committed partitions (health.group_lag, from its detail)."""
    _members, committed, ends = detail
    return health.total_lag((offset, ends[k]) for k, offset in committed)


def group_partition_rows(detail: GroupDetail) -> tuple[list, list]:
    """Keys and rows of a group's lag per partition it has a committed offset for or is assigned."""
    members, committed_pairs, ends = detail
    owners: dict[tuple[str, int], tuple[str, str, str]] = {}
    for member_id, _instance_id, client_id, host, assignment in members:
        owner = (member_id or "", client_id or "", host or "")
        for tp in assignment:
            owners[tp] = owner
    committed = dict(committed_pairs)
    keys = sorted(committed.keys() | owners.keys())
    lag = health.partition_lag
    rows = []
    for k in keys:
        c = committed.get(k)
        end = ends.get(k)
        rows.append((k[0], k[1], c, end, lag(c, end), *owners.get(k, _NO_OWNER)))
    return keys, rows


GROUP_MEMBER_COLUMNS = (
    Column("Member"),
    Column("Instance id"),
    Column("Client id"),
    Column("Host"),
    Column("Assigned partitions"),
)


def group_members_table(s: ClusterSnapshot, group_id: str) -> Table:
    g = s.groups_by_id.get(group_id)
    if g is None:
        return empty(GROUP_MEMBER_COLUMNS)
    return Table(GROUP_MEMBER_COLUMNS, *group_member_rows(group_detail(s, g)))


def group_member_rows(detail: GroupDetail) -> tuple[list, list]:
    rows = []
    for member_id, instance_id, client_id, host, assignment in sorted(detail[0], key=lambda m: m[0]):
        by_topic: dict[str, list[int]] = {}
        for t, p in assignment:
            by_topic.setdefault(t, []).append(p)
        assigned = "; ".join(f"{t}: {','.join(map(str, sorted(ps)))}" for t, ps in sorted(by_topic.items()))
        rows.append((member_id, instance_id or "", client_id, host, assigned))
    return [r[0] for r in rows], rows


def group_detail_tables(detail: GroupDetail) -> tuple[Table, Table]:
    """The lag-per-partition and members tables of one group."""
    return (Table(GROUP_PARTITION_COLUMNS, *group_partition_rows(detail)),
            Table(GROUP_MEMBER_COLUMNS, *group_member_rows(detail)))


def sorted_rows(table: Table, column: int, descending: bool) -> list[int]:
    """Row indexes of `table` ordered by `column` (empty cells last), as the Qt models sort.

    Stable in both directions (equal cells keep table order). Whole-number columns sort with
    numpy when it is there (a few milliseconds for 50,000 rows, against tens in Python)."""
    kind = table.columns[column].kind
    values = [r[column] for r in table.rows]
    if kind == "replicas":
        values = [None if v is None else v[0] for v in values]
    n = len(values)
    if None in values:
        filled = [i for i in range(n) if values[i] is not None]
        blanks = [i for i in range(n) if values[i] is None]
    else:
        filled, blanks = None, []
    vals = values if filled is None else [values[i] for i in filled]
    order = None
    if kind in ("int", "bytes", "bool"):
        order = _numeric_order(vals, descending)
    if order is None and kind in ("int", "rate", "text", "bytes", "bool", "ids", "flags", "replicas"):
        try:
            order = sorted(range(len(vals)), key=vals.__getitem__, reverse=descending)
        except TypeError:  # mixed types in one column
            order = None
    if order is None:
        keys = [mixed_sort_key(kind, v) for v in vals]
        order = sorted(range(len(vals)), key=keys.__getitem__, reverse=descending)
    if filled is not None:
        order = [filled[i] for i in order]
    return order + blanks if blanks else order


def _numeric_order(values: list, descending: bool) -> list[int] | None:
    """Stable argsort of whole numbers with numpy; None if numpy or the values don't allow it."""
    try:
        import numpy as np

        arr = np.fromiter(values, dtype=np.int64, count=len(values))
    except (ImportError, OverflowError, TypeError, ValueError):
        return None
    if not descending:
        return np.argsort(arr, kind="stable").tolist()
    # descending, equal values in table order: sort the reversed array ascending, read it backwards
    n = len(values)
    return (n - 1 - np.argsort(arr[::-1], kind="stable")[::-1]).tolist()


def mixed_sort_key(kind: str, value: Any):
    k = sort_key(kind, value)
    v = k[1]
    if isinstance(v, (int, float)):
        return (k[0], 0, v, "")
    return (k[0], 1, 0, str(v))


def with_orders(table: Table, specs) -> Table:
    """The table with row orders for the given (column, descending) sort specs precomputed."""
    specs = [s for s in specs if s is not None and 0 <= s[0] < len(table.columns)]
    if not specs:
        return table
    orders = {(c, d): sorted_rows(table, c, d) for c, d in specs}
    return Table(table.columns, table.keys, table.rows, table.search, orders)


def with_search(table: Table) -> Table:
    """The table with its filter text precomputed (done on the worker thread for big tables)."""
    text_cols = [i for i, c in enumerate(table.columns) if c.kind == "text"]
    flag_cols = [i for i, c in enumerate(table.columns) if c.kind == "flags"]
    cells = itemgetter(*text_cols, *flag_cols) if text_cols or flag_cols else None
    n_text = len(text_cols)
    single = n_text + len(flag_cols) == 1  # itemgetter of one column gives the cell, not a tuple
    # rows with the same text cells (all partitions of a topic in the same state) share one string
    text_of: dict = {}
    search = []
    for r in table.rows:
        values = cells(r) if cells is not None else ()
        if single:
            values = (values,)
        text = text_of.get(values)
        if text is None:
            text = text_of[values] = "\x1f".join(
                [str(v) for v in values[:n_text] if v is not None] + [" ".join(v) for v in values[n_text:]]
            ).lower()
        search.append(text)
    return Table(table.columns, table.keys, table.rows, search, table.orders)


# -- formatting shared with the Qt models and CSV export --------------------------------------


def _human_bytes(n: int | None) -> str:
    if n is None:
        return ""
    if n < 0:
        return "?"
    v = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if v < 1024 or unit == "TiB":
            return f"{int(v)} {unit}" if unit == "B" else f"{v:.1f} {unit}"
        v /= 1024
    return str(n)


def format_cell(kind: str, value: Any) -> str:
    """Text of a cell as the views show it and CSV exports it."""
    if value is None:
        return ""
    if kind == "ids":
        return ",".join(map(str, value))
    if kind == "replicas":
        replicas, leader = value
        return ",".join(f"{r}L" if r == leader else str(r) for r in replicas)
    if kind == "flags":
        return " ".join(value)
    if kind == "bytes":
        return _human_bytes(value)
    if kind == "rate":
        return f"{value:,.1f}"
    if kind == "bool":
        return "yes" if value else ""
    return str(value)


def sort_key(kind: str, value: Any):
    """A key that orders a column's values sensibly, with empty cells last."""
    if value is None:
        return (1, 0)
    if kind == "replicas":
        return (0, value[0])
    if kind in ("ids", "flags"):
        return (0, tuple(value))
    return (0, value)


def to_csv_rows(table: Table) -> list[list[str]]:
    out = [[c.title for c in table.columns]]
    kinds = [c.kind for c in table.columns]
    for row in table.rows:
        out.append([format_cell(k, v) for k, v in zip(kinds, row, strict=True)])
    return out
