"""Qt is imported in one place: gui/qt/bindings.py re-exports what the console uses."""

from __future__ import annotations

import ast
from pathlib import Path

GUI = Path(__file__).resolve().parents[2] / "gui"
QT = ("PySide6", "shiboken6", "pyqtgraph")


def test_only_bindings_imports_qt():
    offenders = []
    for path in GUI.rglob("*.py"):
        if path.name == "bindings.py" and path.parent.name == "qt":
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for n in names:
                if n.split(".")[0] in QT:
                    offenders.append(f"{path.relative_to(GUI)}:{node.lineno} imports {n}")
    assert not offenders, offenders
