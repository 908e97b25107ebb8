"""Shared fixtures: every test gets its own data and config directories."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No test reads or writes the developer's real home, config or data directories.

    The home is a short directory of its own (``/tmp/fe-XXXXXXXX``), not one under
    ``tmp_path``: pytest-xdist puts a worker's ``tmp_path`` one level deeper
    (``pytest-N/popen-gw0/...``), and a path the app shows (the keymap error, the default
    store) then folded at another column of the error modal, so the keymap test passed
    serially and failed in a worker. Here every run, serial or parallel, shows a path of the
    same, short length, as a user's ``~/.config/foureyes/keymap.toml`` is.
    """
    home = Path(tempfile.mkdtemp(prefix="fe-"))
    monkeypatch.setenv("HOME", str(home))
    for var, sub in (("XDG_DATA_HOME", "data"), ("XDG_CONFIG_HOME", "config"), ("XDG_CACHE_HOME", "cache")):
        path = home / sub
        path.mkdir(parents=True, exist_ok=True)
        monkeypatch.setenv(var, str(path))
    for var in ("FOUREYES_CONFIG", "FOUREYES_STORE_URL", "GITHUB_TOKEN"):
        if var == "FOUREYES_STORE_URL" and os.environ.get("FOUREYES_TEST_KEEP_STORE_URL"):
            continue
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)
    yield home
    shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def foureyes_cmd() -> list[str]:
    """The console script, run as a subprocess the way a user runs it."""
    return [sys.executable, "-m", "foureyes"]


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """Run `python -m foureyes ARGS` in a subprocess, as a user would."""
    import subprocess

    full_env = dict(os.environ)
    full_env.pop("FOUREYES_DEBUG", None)
    if env:
        full_env.update(env)
    return subprocess.run([sys.executable, "-m", "foureyes", *args], capture_output=True, text=True,
                          env=full_env, input=input, timeout=timeout)


@pytest.fixture
def cli():
    return run_cli


@pytest.fixture
def demo_store(tmp_path: Path) -> str:
    """A store holding the two Acme snapshots; returns its URL (also set as FOUREYES_STORE_URL)."""
    from foureyes.connectors import demo
    from foureyes.store import Store

    url = f"sqlite:///{tmp_path / 'demo-test.db'}"
    with Store(url) as store:
        list(demo.load_into(store))
    os.environ["FOUREYES_STORE_URL"] = url
    yield url
    os.environ.pop("FOUREYES_STORE_URL", None)


@pytest.fixture
def demo_config_file(tmp_path: Path) -> Path:
    """The demo's tiers, apps and identity settings as a config file."""
    from foureyes.connectors.demo import DEMO_CONFIG_TOML

    path = tmp_path / "foureyes.toml"
    path.write_text(DEMO_CONFIG_TOML, encoding="utf-8")
    return path


def _pg_admin_url() -> str | None:
    return os.environ.get("FOUREYES_TEST_PG_URL")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request, tmp_path: Path):
    """A fresh, empty store on each backend: SQLite in a temp file, PostgreSQL in a new database.

    `make test` starts PostgreSQL (tools/with_postgres.py) and sets FOUREYES_TEST_PG_URL;
    without it the PostgreSQL variant is skipped.
    """
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        return
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("PostgreSQL not available (run through `make test`, which starts one)")
    yield from _pg_database(admin)


def _pg_database(admin: str):
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"fe_{uuid.uuid4().hex[:12]}"
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin).set(database=name).render_as_string(hide_password=False)
    finally:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.fixture
def pg_url():
    """A fresh PostgreSQL database (skips when no server is available)."""
    admin = _pg_admin_url()
    if not admin:
        pytest.skip("PostgreSQL not available (run through `make test`, which starts one)")
    yield from _pg_database(admin)
