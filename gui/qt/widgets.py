"""Reusable pieces: a filterable, sortable table with copy and CSV export; the unreachable banner."""

from __future__ import annotations

import csv
import threading

from partita.gui.domain import tables as T

from .bindings import (
    QAbstractItemView,
    QAction,
    QFileDialog,
    QFrame,
    QGuiApplication,
    QHBoxLayout,
    QHeaderView,
    QItemSelection,
    QItemSelectionModel,
    QKeySequence,
    QLabel,
    QLineEdit,
    QPushButton,
    Qt,
    QTableView,
    QVBoxLayout,
    QWidget,
    Signal,
)
from .models import TableModel


def rows_as_text(columns: tuple[T.Column, ...], rows: list[tuple], sep: str = "\t") -> str:
    kinds = [c.kind for c in columns]
    lines = [sep.join(c.title for c in columns)]
    for row in rows:
        lines.append(sep.join(T.format_cell(k, v) for k, v in zip(kinds, row, strict=True)))
    return "\n".join(lines) + "\n"


def write_csv(path: str, columns: tuple[T.Column, ...], rows: list[tuple]) -> None:
    kinds = [c.kind for c in columns]
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow([c.title for c in columns])
        for row in rows:
            w.writerow([T.format_cell(k, v) for k, v in zip(kinds, row, strict=True)])


class TablePanel(QWidget):
    """A title, a filter box, a table view, Copy and Export CSV. Keeps selection and scroll position
    (by row key) across model resets."""

    current_key_changed = Signal(object)  # key of the current row, or None
    exported = Signal(str)  # path written

    def __init__(self, model: TableModel, title: str = "", filter_hint: str = "Filter", parent=None) -> None:
        super().__init__(parent)
        self.model = model
        self.view = QTableView(self)
        self.view.setObjectName(f"table-{title or 'main'}")
        self.view.setModel(model)
        self.view.setSortingEnabled(True)
        self.view.horizontalHeader().setSortIndicatorShown(True)
        self.view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setAlternatingRowColors(True)
        self.view.setWordWrap(False)
        self.view.verticalHeader().setVisible(False)
        self.view.verticalHeader().setDefaultSectionSize(22)
        self.view.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.view.horizontalHeader()
        header.setStretchLastSection(model.columns[-1].kind == "text")
        header.setResizeContentsPrecision(200)
        header.setHighlightSections(False)

        self.title = QLabel(f"<b>{title}</b>") if title else None
        self.filter = QLineEdit(self)
        self.filter.setPlaceholderText(f"{filter_hint}…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(model.set_filter)
        self.count = QLabel(self)
        self.copy_button = QPushButton("Copy", self)
        self.copy_button.setToolTip("Copy the selected rows (or all shown rows) as tab-separated text")
        self.copy_button.clicked.connect(self.copy_to_clipboard)
        self.export_button = QPushButton("Export CSV…", self)
        self.export_button.clicked.connect(self._ask_export)
        copy_action = QAction(self.view)
        copy_action.setShortcut(QKeySequence.StandardKey.Copy)
        copy_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        copy_action.triggered.connect(self.copy_to_clipboard)
        self.view.addAction(copy_action)

        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        if self.title:
            top.addWidget(self.title)
        top.addWidget(self.filter, 1)
        top.addWidget(self.count)
        top.addWidget(self.copy_button)
        top.addWidget(self.export_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addLayout(top)
        lay.addWidget(self.view)

        self._saved: tuple[list, object, object] | None = None
        self._sized = False
        model.modelAboutToBeReset.connect(self._save_view_state)
        model.modelReset.connect(self._restore_view_state)
        model.rows_replaced.connect(self._update_count)
        self.view.selectionModel().currentRowChanged.connect(self._on_current)

    # -- selection and scroll across resets ----------------------------------------------------

    def _save_view_state(self) -> None:
        sel = self.view.selectionModel()
        keys = [self.model.key_at(i.row()) for i in sel.selectedRows()]
        cur = sel.currentIndex()
        cur_key = self.model.key_at(cur.row()) if cur.isValid() else None
        top = self.view.rowAt(0)
        top_key = self.model.key_at(top) if top >= 0 else None
        self._saved = (keys, cur_key, top_key)

    def _restore_view_state(self) -> None:
        self._update_count()
        saved, self._saved = self._saved, None
        if not saved:
            return
        keys, cur_key, top_key = saved
        sel = self.view.selectionModel()
        last_col = self.model.columnCount() - 1
        selection = QItemSelection()
        if len(keys) <= 1000:
            for k in keys:
                r = self.model.row_of(k)
                if r is not None:
                    selection.select(self.model.index(r, 0), self.model.index(r, last_col))
        sel.blockSignals(True)
        if cur_key is not None:
            r = self.model.row_of(cur_key)
            if r is not None:
                sel.setCurrentIndex(self.model.index(r, 0), QItemSelectionModel.SelectionFlag.NoUpdate)
        sel.select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)
        sel.blockSignals(False)
        if top_key is not None:
            r = self.model.row_of(top_key)
            if r is not None:
                self.view.scrollTo(self.model.index(r, 0), QAbstractItemView.ScrollHint.PositionAtTop)

    def _update_count(self) -> None:
        shown, total = self.model.rowCount(), len(self.model.table)
        self.count.setText(f"{shown:,} of {total:,}" if shown != total else f"{total:,} rows")
        if not self._sized and shown > 0:
            self._sized = True
            self.fit_columns()

    def fit_columns(self, sample: int = 60, cap: int = 420) -> None:
        """Column widths from the header and the first rows, measured in Python: Qt's
        resizeColumnsToContents asks data() for hundreds of rows per column."""
        fm = self.view.fontMetrics()
        hfm = self.view.horizontalHeader().fontMetrics()
        cols = self.model.columns
        rows = [self.model.raw_row(r) for r in range(min(sample, self.model.rowCount()))]
        last = len(cols) - 1
        for c, col in enumerate(cols):
            width = hfm.horizontalAdvance(col.title) + 28
            for row in rows:
                width = max(width, fm.horizontalAdvance(T.format_cell(col.kind, row[c])) + 14)
            if c != last or not self.view.horizontalHeader().stretchLastSection():
                self.view.setColumnWidth(c, min(width, cap))

    def _on_current(self, current, _previous) -> None:
        self.current_key_changed.emit(self.model.key_at(current.row()) if current.isValid() else None)

    def current_key(self):
        cur = self.view.selectionModel().currentIndex()
        return self.model.key_at(cur.row()) if cur.isValid() else None

    def select_key(self, key) -> bool:
        r = self.model.row_of(key)
        if r is None:
            return False
        self.view.selectRow(r)
        self.view.setCurrentIndex(self.model.index(r, 0))
        return True

    # -- copy and export -----------------------------------------------------------------------

    def selected_or_all_rows(self) -> list[tuple]:
        rows = sorted({i.row() for i in self.view.selectionModel().selectedRows()})
        if not rows:
            return self.model.visible_rows()
        return [self.model.raw_row(r) for r in rows]

    def copy_to_clipboard(self) -> str:
        text = rows_as_text(self.model.columns, self.selected_or_all_rows())
        QGuiApplication.clipboard().setText(text)
        return text

    def _ask_export(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", "", "CSV files (*.csv)")
        if path:
            self.export_csv(path)

    def export_csv(self, path: str) -> threading.Thread:
        """Write the shown rows to `path` on a background thread; `exported` fires when done."""
        rows = self.model.visible_rows()
        columns = self.model.columns

        def work():
            write_csv(path, columns, rows)
            self.exported.emit(path)

        t = threading.Thread(target=work, name="partita-csv", daemon=True)
        t.start()
        return t


class Banner(QFrame):
    """A red strip over the views while the cluster does not answer."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("unreachable-banner")
        self.setStyleSheet(
            "#unreachable-banner { background: #b3261e; border-radius: 4px; }"
            " #unreachable-banner QLabel { color: white; font-weight: bold; padding: 6px; }"
        )
        self.label = QLabel(self)
        self.label.setWordWrap(True)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        lay.addWidget(self.label)
        self.hide()

    def show_message(self, text: str) -> None:
        self.label.setText(text)
        self.show()


class HealthTile(QFrame):
    """A big number with a caption, coloured by state."""

    COLORS = {"ok": ("#e7f4ea", "#1b5e20"), "warn": ("#fff3d6", "#8a5a00"), "bad": ("#ffe4e4", "#b3261e"), "none": ("#f1f1f1", "#333")}

    def __init__(self, caption: str, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self.value = QLabel("–", self)
        self.value.setAlignment(Qt.AlignmentFlag.AlignCenter)
        f = self.value.font()
        f.setPointSize(f.pointSize() + 10)
        f.setBold(True)
        self.value.setFont(f)
        self.caption = QLabel(caption, self)
        self.caption.setAlignment(Qt.AlignmentFlag.AlignCenter)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 6, 8, 6)
        lay.addWidget(self.value)
        lay.addWidget(self.caption)
        self.set_value("–", "none")

    def set_value(self, text, state: str = "ok") -> None:
        bg, fg = self.COLORS[state]
        self.setStyleSheet(f"#tile {{ background: {bg}; border: 1px solid {fg}; border-radius: 6px; }} QLabel {{ color: {fg}; }}")
        self.value.setText(str(text))
