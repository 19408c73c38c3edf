"""The layer rules hold: engine never imports gui; gui/domain and gui/services never import Qt.

Two checks: every import statement in those folders (read with ast, so an import inside a
function counts too), and importing every module of a layer in a fresh interpreter and
looking at what got loaded.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "shiboken6", "pyqtgraph", "partita.gui.qt")

RULES = {
    "engine": ("partita.gui", *QT),
    "gui/domain": QT,
    "gui/services": QT,
}


def imported_names(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append((node.lineno, node.module))
        elif isinstance(node, ast.ImportFrom) and node.level:
            # Relative imports stay inside their package; resolve them to check anyway.
            package = path.relative_to(ROOT).parent.parts[: len(path.relative_to(ROOT).parent.parts) - node.level + 1]
            base = ".".join(("partita", *package))
            names.append((node.lineno, f"{base}.{node.module}" if node.module else base))
    return names


@pytest.mark.parametrize("folder", sorted(RULES))
def test_no_forbidden_import_statements(folder):
    forbidden = RULES[folder]
    violations = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        for line, name in imported_names(path):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("package, forbidden", [
    ("partita.engine", ("partita.gui", *QT)),
    ("partita.gui.domain", QT),
    ("partita.gui.services", QT),
])
def test_importing_a_layer_loads_nothing_forbidden(package, forbidden):
    code = (
        "import sys, importlib, pkgutil\n"
        f"root = importlib.import_module({package!r})\n"
        "for m in pkgutil.walk_packages(root.__path__, root.__name__ + '.'):\n"
        "    if not m.name.rsplit('.', 1)[-1].startswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({forbidden!r}))\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_the_checks_catch_a_violation(tmp_path, monkeypatch):
    """A rule that could never fail would prove nothing: feed it a bad file."""
    bad = ROOT / "engine" / "_layer_probe.py"
    bad.write_text("def f():\n    from partita.gui.domain import snapshot\n")
    try:
        with pytest.raises(AssertionError, match="_layer_probe.py:2 imports partita.gui.domain"):
            test_no_forbidden_import_statements("engine")
    finally:
        bad.unlink()
