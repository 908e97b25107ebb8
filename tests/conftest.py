"""Shared fixtures: every test gets its own data and config directories."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No test reads or writes the developer's real config or data directories."""
    home = tmp_path / "home"
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        path = home / sub
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(path))
    for var in ("FOUREYES_CONFIG", "FOUREYES_STORE_URL", "GITHUB_TOKEN"):
        if var == "FOUREYES_STORE_URL" and os.environ.get("FOUREYES_TEST_KEEP_STORE_URL"):
            continue
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    return home


@pytest.fixture
def foureyes_cmd() -> list[str]:
    """The console script, run as a subprocess the way a user runs it."""
    return [sys.executable, "-m", "foureyes"]
