"""Qt models as thin adapters over the latest immutable table (see partita.gui.domain.tables).

`TableModel` keeps a row order (filtered and sorted) over a Table's rows. A new table with the
same rows in the same order only emits dataChanged over the rows that changed; otherwise the
model resets, and `TablePanel` puts selection and scroll back by row key.

Sorting and filtering live here rather than in a QSortFilterProxyModel: a proxy calls back into
Python's data() for every comparison, which takes seconds at 50,000 rows; sorting the raw values
in Python takes milliseconds.
"""

from __future__ import annotations

import operator

from partita.gui.domain import tables as T

from .bindings import QAbstractTableModel, QBrush, QColor, QModelIndex, QPersistentModelIndex, Qt, Signal

KEY_ROLE = Qt.ItemDataRole.UserRole + 1
RAW_ROLE = Qt.ItemDataRole.UserRole + 2

BAD = QColor(200, 40, 40)
WARN = QColor(190, 120, 0)
BAD_BG = QColor(255, 228, 228)
WARN_BG = QColor(255, 243, 214)

_NUMERIC = {"int", "bytes", "rate"}
_ITEM_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
_RIGHT = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
_DISPLAY = Qt.ItemDataRole.DisplayRole
_TOOLTIP = Qt.ItemDataRole.ToolTipRole
_ALIGN = Qt.ItemDataRole.TextAlignmentRole
_FG = Qt.ItemDataRole.ForegroundRole
_BG = Qt.ItemDataRole.BackgroundRole
# Qt's item delegate asks for seven roles per painted cell; font, check state and decoration are
# never set here, so those calls return before touching the table
_ANSWERED = frozenset({_DISPLAY, _TOOLTIP, _ALIGN, _FG, _BG, KEY_ROLE, RAW_ROLE})


class TableModel(QAbstractTableModel):
    rows_replaced = Signal()  # a new table is in (same shape or not)

    def __init__(self, columns: tuple[T.Column, ...], parent=None) -> None:
        super().__init__(parent)
        self._columns = columns
        self._kinds = [c.kind for c in columns]
        self._table = T.empty(columns)
        self._order: range | list[int] = range(0)  # view row -> table row
        self._rows_by_key: dict | None = None  # key -> view row, built on demand
        self._sort: tuple[int, Qt.SortOrder] | None = None
        self._filter = ""
        self._search_cache: tuple[T.Table, list[str]] | None = None
        self._order_cache: tuple[T.Table, tuple[int, bool], list[int]] | None = None
        self._lookups = 0  # row_of calls since the order last changed (see row_of)
        self._flags_col = next((i for i, k in enumerate(self._kinds) if k == "flags"), None)
        self._state_col = next((i for i, c in enumerate(columns) if c.title == "State"), None)
        self._lag_col = next((i for i, c in enumerate(columns) if c.title in ("Total lag", "Lag")), None)

    # -- Qt API --------------------------------------------------------------------------------

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(self._columns):
            if role == Qt.ItemDataRole.DisplayRole:
                return self._columns[section].title
            if role == Qt.ItemDataRole.ToolTipRole and self._columns[section].tip:
                return self._columns[section].tip
        return None

    def flags(self, index):
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _ITEM_FLAGS

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role not in _ANSWERED or not index.isValid():
            return None
        r, c = index.row(), index.column()
        if r >= len(self._order) or c >= len(self._columns):
            return None
        row = self._table.rows[self._order[r]]
        if role in (_DISPLAY, _TOOLTIP):
            return T.format_cell(self._kinds[c], row[c])
        if role == _ALIGN:
            return _RIGHT if self._kinds[c] in _NUMERIC else None
        if role == _FG:
            return self._foreground(row, c)
        if role == _BG:
            return self._background(row)
        if role == KEY_ROLE:
            return self._table.keys[self._order[r]]
        if role == RAW_ROLE:
            return row[c]
        return None

    def _severity(self, row) -> int:
        if self._flags_col is not None:
            flags = row[self._flags_col]
            if "OFFLINE" in flags or "<MIN-ISR" in flags:
                return 2
            if flags:
                return 1
        if self._state_col is not None:
            state = row[self._state_col]
            if state == "DOWN":
                return 2
            if state == "UNREACHABLE":
                return 1
        return 0

    def _background(self, row):
        s = self._severity(row)
        if s == 2:
            return QBrush(BAD_BG)
        if s == 1:
            return QBrush(WARN_BG)
        return None

    def _foreground(self, row, c):
        if self._severity(row):
            return QBrush(QColor(0, 0, 0))
        if c == self._lag_col and isinstance(row[c], int) and row[c] > 0:
            return QBrush(WARN)
        return None

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(self._columns):
            self._sort = None
            return
        self._sort = (column, order)
        self.layoutAboutToBeChanged.emit()
        old_rows = list(self._order)
        self._order, self._rows_by_key = self._sorted(self._order), None
        self._lookups = 0
        self._remap_persistent(old_rows)
        self.layoutChanged.emit()

    # -- our API -------------------------------------------------------------------------------

    @property
    def table(self) -> T.Table:
        return self._table

    @property
    def columns(self) -> tuple[T.Column, ...]:
        return self._columns

    def key_at(self, row: int):
        if 0 <= row < len(self._order):
            return self._table.keys[self._order[row]]
        return None

    def row_of(self, key) -> int | None:
        """View row of `key`. A few look-ups (selection and scroll after a reset) search the lists
        in C; many build a key -> row index once (50,000 entries cost ~25 ms of GUI time)."""
        index = self._rows_by_key
        if index is None:
            self._lookups += 1
            if self._lookups <= 16:
                return self._search_row(key)
            keys = self._table.keys
            index = self._rows_by_key = {keys[t]: i for i, t in enumerate(self._order)}
        return index.get(key)

    def _search_row(self, key) -> int | None:
        try:
            t = self._table.keys.index(key)
        except ValueError:
            return None
        order = self._order
        if isinstance(order, range):
            return t - order.start if t in order else None
        try:
            return order.index(t)
        except ValueError:
            return None

    def raw_row(self, row: int) -> tuple:
        return self._table.rows[self._order[row]]

    def visible_rows(self) -> list[tuple]:
        rows = self._table.rows
        return [rows[i] for i in self._order]

    def set_filter(self, text: str) -> None:
        text = text.strip().lower()
        if text == self._filter:
            return
        self.beginResetModel()
        self._filter = text
        self._order, self._rows_by_key = self._compute_order(self._table), None
        self._lookups = 0
        self.endResetModel()

    def set_table(self, table: T.Table) -> None:
        """Swap in a new table.

        Same rows in the same order: dataChanged over the rows that changed. Same rows in another
        order (sorted by a value that moved): a layout change that carries selection along.
        Otherwise (rows came or went): a reset; TablePanel restores selection and scroll by key.
        Every comparison is a whole-list comparison done in C, so a 50,000-row refresh costs a few
        milliseconds of GUI time, not a Python loop over the rows."""
        old, old_order = self._table, self._order
        new_order = self._compute_order(table)
        if old.keys == table.keys and len(old_order) == len(new_order):
            identity = isinstance(old_order, range) and isinstance(new_order, range)
            if identity or old_order == new_order:
                self._table, self._order = table, new_order
                if old.rows != table.rows and len(new_order):
                    if identity:
                        diff = list(map(operator.ne, old.rows, table.rows))
                        first = diff.index(True)
                        last = len(diff) - 1 - diff[::-1].index(True)
                    else:
                        first, last = 0, len(new_order) - 1
                    self.dataChanged.emit(self.index(first, 0), self.index(last, len(self._columns) - 1))
            else:
                self.layoutAboutToBeChanged.emit()
                self._table, self._order, self._rows_by_key = table, new_order, None
                self._lookups = 0
                self._remap_persistent(old_order)
                self.layoutChanged.emit()
        else:
            self.beginResetModel()
            self._table, self._order, self._rows_by_key = table, new_order, None
            self._lookups = 0
            self.endResetModel()
        self.rows_replaced.emit()

    # -- internals -----------------------------------------------------------------------------

    def _search_strings(self, table: T.Table) -> list[str]:
        if table.search is not None:
            return table.search
        cache = self._search_cache
        if cache is not None and cache[0] is table:
            return cache[1]
        out = T.with_search(table).search or []
        self._search_cache = (table, out)
        return out

    def _compute_order(self, table: T.Table) -> list[int]:
        if self._filter:
            words = self._filter.split()
            strings = self._search_strings(table)
            first, rest = words[0], words[1:]
            order = [i for i, s in enumerate(strings) if first in s]
            for w in rest:  # narrow down word by word: no per-row generator
                order = [i for i in order if w in strings[i]]
        else:
            order = range(len(table.rows))
        if self._sort is not None:
            order = self._sorted(order, table)
        return order

    @property
    def sort_spec(self) -> tuple[int, bool] | None:
        """(column, descending) of the current sort, for the worker to precompute."""
        if self._sort is None:
            return None
        return (self._sort[0], self._sort[1] == Qt.SortOrder.DescendingOrder)

    def _sorted(self, order, table: T.Table | None = None) -> list[int]:
        assert self._sort is not None
        table = table if table is not None else self._table
        column, qorder = self._sort
        descending = qorder == Qt.SortOrder.DescendingOrder
        spec = (column, descending)
        cache = self._order_cache
        if cache is not None and cache[0] is table and cache[1] == spec:
            full = cache[2]
        else:
            full = table.orders.get(spec) if table.orders else None
            if full is None:
                full = T.sorted_rows(table, column, descending)
            self._order_cache = (table, spec, full)
        if len(order) == len(table.rows):  # nothing filtered out: every row, in sort order
            return full
        keep = set(order)
        return [i for i in full if i in keep]

    def _remap_persistent(self, old_order) -> None:
        old_list = self.persistentIndexList()
        if not old_list:
            return
        order = self._order
        if len(old_list) > 32:
            pos = {t: i for i, t in enumerate(order)}
            where = pos.get
        else:  # a few selected rows: a C-level search each beats building a 50,000-entry dict

            def where(t):
                try:
                    return order.index(t)
                except ValueError:
                    return None

        new_list = []
        for idx in old_list:
            r = idx.row()
            new_row = where(old_order[r]) if 0 <= r < len(old_order) else None
            new_list.append(self.index(new_row, idx.column()) if new_row is not None else QModelIndex())
        self.changePersistentIndexList(old_list, new_list)


__all__ = ["KEY_ROLE", "RAW_ROLE", "QPersistentModelIndex", "TableModel"]
