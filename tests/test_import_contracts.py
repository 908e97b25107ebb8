"""The layer contract in .importlinter holds: `lint-imports` runs as part of `make test`.

Layers, forbidden imports for the CLI and the TUI, connectors apart from the store, and no
Textual below the TUI (test_import_hygiene.py checks the last at run time as well).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")  # the test extra installs import-linter
    assert lint.exists(), f"{lint} is missing: install the test extra (make .venv/.installed-test)"
    result = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 kept, 0 broken" in result.stdout
