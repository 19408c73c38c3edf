"""Racks → brokers → replicas, as a tree a replica can be dragged through onto another broker.

A thin model over one ViewData and the reassignment plan: nothing is copied per replica; a
broker's children are the partition rows the builder process indexed for it (broker_rows),
with the plan's moves applied (replicas planned away left out, those planned in added and
marked). Dropping replicas on a broker does not change the model: it asks for the moves
(`moves_requested`), the planner decides, and the model is rebuilt from the new plan.
"""

from __future__ import annotations

import json

from partita.gui.domain import tables as T
from partita.gui.domain.reassignment import Plan
from partita.gui.domain.view_data import ViewData

from .bindings import QAbstractItemModel, QBrush, QColor, QFont, QMimeData, QModelIndex, Qt, Signal

MIME = "application/x-partita-replicas"
NO_RACK = "(no rack)"
_BROKER, _REPLICA = 1 << 24, 2 << 24  # internalId: 1..racks for racks, these | broker index below
PLANNED_IN = QColor(25, 103, 210)
DOWN = QColor(179, 38, 30)


class RackLayoutModel(QAbstractItemModel):
    moves_requested = Signal(object, int)  # [(topic, partition, source broker)], target broker

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._data: ViewData | None = None
        self._plan = Plan()
        self._racks: list[str] = []
        self._brokers: list = []  # Broker, in rack then id order
        self._rack_members: list[list[int]] = []  # per rack: indexes into _brokers
        self._rack_of_broker: list[int] = []
        self._children: dict[int, list[tuple[str, int, bool]]] = {}  # broker index -> (topic, partition, planned in)
        self._planned_in: dict[int, list[tuple[str, int, bool]]] = {}  # node id -> replicas the plan adds
        self._planned_out: dict[int, int] = {}  # node id -> replicas the plan removes

    # -- input ---------------------------------------------------------------------------------

    def set_state(self, data: ViewData | None, plan: Plan) -> None:
        """Show `data` with `plan` applied. When no broker, rack or replica list changed (most
        refreshes; the builder says so in ViewData.replica_layout), the tree is not
        reset: selection, expansion and a drag in progress stay, and only texts are refreshed.
        A broker's replicas are listed only once it is expanded: 150,000 replicas are not
        walked on the GUI thread each refresh."""
        brokers = sorted(data.summary.brokers, key=lambda b: (b.rack or NO_RACK, b.node_id)) if data else []
        old = self._data
        if (data is not None and old is not None and plan == self._plan
                and [(b.node_id, b.rack) for b in brokers] == [(b.node_id, b.rack) for b in self._brokers]
                and data.replica_layout == old.replica_layout):
            self._data, self._brokers = data, brokers
            self._texts_changed()
            return
        self.beginResetModel()
        self._data, self._plan, self._children = data, plan, {}
        self._planned_in = {}
        self._planned_out = {}
        for m in plan.moves:
            for b in m.adding:
                self._planned_in.setdefault(b, []).append((m.state.topic, m.state.partition, True))
            for b in m.removing:
                self._planned_out[b] = self._planned_out.get(b, 0) + 1
        self._brokers = brokers
        self._racks = sorted({b.rack or NO_RACK for b in brokers})
        rack_index = {r: i for i, r in enumerate(self._racks)}
        self._rack_members = [[] for _ in self._racks]
        self._rack_of_broker = []
        for i, b in enumerate(brokers):
            r = rack_index[b.rack or NO_RACK]
            self._rack_members[r].append(i)
            self._rack_of_broker.append(r)
        self.endResetModel()

    def _texts_changed(self) -> None:
        last = self.columnCount() - 1
        for r in range(len(self._racks)):
            rack = self.index(r, 0)
            self.dataChanged.emit(rack, self.index(r, last))
            n = len(self._rack_members[r])
            if n:
                self.dataChanged.emit(self.index(0, 0, rack), self.index(n - 1, last, rack))
            for row, b in enumerate(self._rack_members[r]):
                listed = self._children.get(b)
                if listed:  # only brokers whose replicas were listed can show them
                    broker = self.index(row, 0, rack)
                    self.dataChanged.emit(self.index(0, 0, broker), self.index(len(listed) - 1, last, broker))

    def _count(self, b: int) -> int:
        """A broker's replicas with the plan applied, without listing them."""
        listed = self._children.get(b)
        if listed is not None:
            return len(listed)
        node_id = self._brokers[b].node_id
        rows = self._data.broker_rows.get(node_id, ()) if self._data is not None else ()
        return len(rows) - self._planned_out.get(node_id, 0) + len(self._planned_in.get(node_id, ()))

    def broker_index(self, node_id: int) -> QModelIndex:
        for i, b in enumerate(self._brokers):
            if b.node_id == node_id:
                r = self._rack_of_broker[i]
                return self.createIndex(self._rack_members[r].index(i), 0, _BROKER | i)
        return QModelIndex()

    def rack_index(self, rack: str) -> QModelIndex:
        return self.createIndex(self._racks.index(rack), 0, 1 + self._racks.index(rack)) if rack in self._racks \
            else QModelIndex()

    def replica_at(self, index: QModelIndex) -> tuple[str, int, int] | None:
        """(topic, partition, broker) of a replica item."""
        if not index.isValid() or index.internalId() & ~0xFFFFFF != _REPLICA:
            return None
        b = index.internalId() & 0xFFFFFF
        topic, partition, _planned = self._replicas(b)[index.row()]
        return topic, partition, self._brokers[b].node_id

    def node_id_at(self, index: QModelIndex) -> int | None:
        if not index.isValid() or index.internalId() & ~0xFFFFFF != _BROKER:
            return None
        return self._brokers[index.internalId() & 0xFFFFFF].node_id

    def _replicas(self, b: int) -> list[tuple[str, int, bool]]:
        listed = self._children.get(b)
        if listed is None:
            listed = self._children[b] = self._compute_replicas(self._data, self._plan, self._brokers[b].node_id)
        return listed

    @staticmethod
    def _compute_replicas(d: ViewData | None, plan: Plan, node_id: int) -> list[tuple[str, int, bool]]:
        if d is None:
            return []
        rows = d.partitions.rows
        planned = {m.key: m for m in plan.moves}
        out = []
        for i in d.broker_rows.get(node_id, ()):
            row = rows[i]
            m = planned.get((row[0], row[1]))
            if m is None or node_id in m.target:
                out.append((row[0], row[1], False))
        out.extend((m.state.topic, m.state.partition, True) for m in plan.moves
                   if node_id in m.target and node_id not in m.state.replicas)
        return out

    # -- Qt API ----------------------------------------------------------------------------------

    def index(self, row, column, parent=QModelIndex()):  # noqa: B008
        if not self.hasIndex(row, column, parent):
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, column, 1 + row)
        pid = parent.internalId()
        if pid & ~0xFFFFFF == 0:  # a rack: its brokers
            return self.createIndex(row, column, _BROKER | self._rack_members[pid - 1][row])
        if pid & ~0xFFFFFF == _BROKER:
            return self.createIndex(row, column, _REPLICA | (pid & 0xFFFFFF))
        return QModelIndex()

    def parent(self, index=QModelIndex()):  # noqa: B008
        if not index.isValid():
            return QModelIndex()
        iid = index.internalId()
        kind, b = iid & ~0xFFFFFF, iid & 0xFFFFFF
        if kind == _BROKER:
            r = self._rack_of_broker[b]
            return self.createIndex(r, 0, 1 + r)
        if kind == _REPLICA:
            r = self._rack_of_broker[b]
            return self.createIndex(self._rack_members[r].index(b), 0, _BROKER | b)
        return QModelIndex()

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        if parent.column() > 0:
            return 0
        if not parent.isValid():
            return len(self._racks)
        pid = parent.internalId()
        if pid & ~0xFFFFFF == 0:
            return len(self._rack_members[pid - 1])
        if pid & ~0xFFFFFF == _BROKER:
            return len(self._replicas(pid & 0xFFFFFF))
        return 0

    def hasChildren(self, parent=QModelIndex()) -> bool:  # noqa: B008, N802
        # the expand arrow of a collapsed broker must not list its replicas
        if parent.isValid() and parent.internalId() & ~0xFFFFFF == _BROKER and parent.column() == 0:
            return self._count(parent.internalId() & 0xFFFFFF) > 0
        return super().hasChildren(parent)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 2

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return ("Rack / broker / replica", "")[section] if 0 <= section < 2 else None
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        kind = index.internalId() & ~0xFFFFFF
        if kind == _REPLICA:
            return base | Qt.ItemFlag.ItemIsDragEnabled
        if kind == _BROKER:
            return base | Qt.ItemFlag.ItemIsDropEnabled
        return base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        iid = index.internalId()
        kind, b = iid & ~0xFFFFFF, iid & 0xFFFFFF
        col = index.column()
        if kind == 0:
            rack = self._racks[iid - 1]
            if role == Qt.ItemDataRole.DisplayRole:
                members = self._rack_members[iid - 1]
                down = sum(1 for i in members if not self._brokers[i].alive)
                count = f"{len(members)} broker{'' if len(members) == 1 else 's'}"
                return rack if col == 0 else count + (f", {down} down" if down else "")
            return None
        broker = self._brokers[b]
        if kind == _BROKER:
            if role == Qt.ItemDataRole.DisplayRole:
                if col == 0:
                    return f"broker {broker.node_id}"
                parts = ["up" if broker.alive else "DOWN", f"{self._count(b):,} replicas",
                         T.format_cell("bytes", broker.size_bytes)]
                return " · ".join(p for p in parts if p)
            if role == Qt.ItemDataRole.ForegroundRole and not broker.alive:
                return QBrush(DOWN)
            return None
        if kind == _REPLICA:
            topic, partition, planned_in = self._replicas(b)[index.row()]
            if role == Qt.ItemDataRole.DisplayRole:
                if col == 0:
                    return f"{topic}-{partition}"
                if planned_in:
                    return "planned here"
                return self._replica_detail(topic, partition, broker.node_id)
            if planned_in and role == Qt.ItemDataRole.ForegroundRole:
                return QBrush(PLANNED_IN)
            if planned_in and role == Qt.ItemDataRole.FontRole:
                font = QFont()
                font.setItalic(True)
                return font
        return None

    def _replica_detail(self, topic: str, partition: int, node_id: int) -> str:
        d = self._data
        state = d.partition_state((topic, partition)) if d is not None else None
        if state is None:
            return ""
        role = "leader" if state.leader == node_id else ("in sync" if node_id in state.isr else "OUT OF SYNC")
        size = T.format_cell("bytes", state.size_bytes)
        return f"{role} · {size}" if size else role

    # -- drag and drop -------------------------------------------------------------------------

    def mimeTypes(self):  # noqa: N802
        return [MIME]

    def supportedDragActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def supportedDropActions(self):  # noqa: N802
        return Qt.DropAction.MoveAction

    def mimeData(self, indexes):  # noqa: N802
        replicas = []
        for index in indexes:
            r = self.replica_at(index) if index.column() == 0 else None
            if r is not None and r not in replicas:
                replicas.append(r)
        mime = QMimeData()
        mime.setData(MIME, json.dumps(replicas).encode())
        return mime

    def canDropMimeData(self, data, action, row, column, parent):  # noqa: N802
        return data is not None and data.hasFormat(MIME) and self.node_id_at(parent) is not None

    def dropMimeData(self, data, action, row, column, parent):  # noqa: N802
        if not self.canDropMimeData(data, action, row, column, parent):
            return False
        target = self.node_id_at(parent)
        try:
            replicas = [(str(t), int(p), int(b)) for t, p, b in json.loads(bytes(data.data(MIME)).decode())]
        except (ValueError, TypeError):
            return False
        moving = [r for r in replicas if r[2] != target]
        if moving:
            self.moves_requested.emit(moving, target)
        return True
