"""The core never imports Textual: only foureyes.tui may (DESIGN, STYLE)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import foureyes


def _modules() -> list[str]:
    names = ["foureyes"]
    for info in pkgutil.walk_packages(foureyes.__path__, "foureyes."):
        if info.name.startswith("foureyes.tui") or info.name == "foureyes.__main__":
            continue
        names.append(info.name)
    return names


def test_core_does_not_import_textual():
    modules = _modules()
    assert "foureyes.cli" in modules and "foureyes.rules.engine" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "", f"textual imported by the core: {result.stdout}"


def test_importing_foureyes_does_not_import_cloud_sdks():
    code = (
        "import sys, foureyes, foureyes.cli, foureyes.analysis\n"
        "bad = [m for m in ('boto3', 'github', 'google.cloud', 'textual') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""
