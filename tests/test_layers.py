"""The layer rules hold: engine never imports gui; gui/domain and gui/services never import Qt.

import-linter checks the contracts in pyproject.toml over the installed packages; this
test makes a broken rule fail the suite, not just a lint step.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run([str(lint_imports)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken" in result.stdout or " kept, 0 broken" in result.stdout


def test_engine_imports_without_qt():
    code = (
        "import sys, importlib, pkgutil, partita.engine as e\n"
        "for m in pkgutil.walk_packages(e.__path__, 'partita.engine.'):\n"
        "    importlib.import_module(m.name)\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'pyqtgraph', 'partita.gui'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
