"""Shared fixtures: every test gets its own data and config directories."""

from __future__ import annotations

import gc
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import traceback
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def isolated_dirs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """No test reads or writes the developer's real home, config or data directories.

    The home is a short directory of its own (``/tmp/fe-XXXXXXXX``), not one under
    ``tmp_path``: pytest-xdist puts a worker's ``tmp_path`` one level deeper
    (``pytest-N/popen-gw0/...``), and a path the app shows (the keymap error, the default
    store) then folded at another column of the 80-column error modal: the keymap test,
    which looked for the path and the key on one line, passed serially and failed in a
    worker. Here every run, serial or parallel, shows a path of the same, short length, as
    a user's ``~/.config/foureyes/keymap.toml`` is.
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


# -- the command line --------------------------------------------------------------------
#
# Most CLI tests run `foureyes` in this process (click's CliRunner), as a fresh process would
# see it: its own environment and working directory, stdin that is not a terminal, stdout and
# stderr captured apart, and Python's default warning filters and last-resort logging to
# stderr, so a warning or a log line shows in `.stderr` as it would from a real process. What
# a command changes process-wide (signal handlers, the GIL switch interval, frozen GC
# generations) is put back afterwards. An interpreter per call cost about a second each.
#
# `run_process` (the `cli_process` fixture) is the real thing, `python -m foureyes` in a child
# process: for what only a process shows (exit codes through the real entry point, signals,
# pipes, terminals). tests/test_entry_point.py keeps one for each exit code 0, 1, 2 and 3.

# Python's filters when started without -W or PYTHONWARNINGS (3.11, not in development mode).
_PYTHON_DEFAULT_WARNINGS = (("default", DeprecationWarning, "__main__"), ("ignore", DeprecationWarning, ""),
                            ("ignore", PendingDeprecationWarning, ""), ("ignore", ImportWarning, ""),
                            ("ignore", ResourceWarning, ""))


class _LastResortLogging(logging.Handler):
    """What a fresh process does with a log record nobody handles: WARNING and above, the bare
    message, to whatever sys.stderr is at that moment (here the runner's). pytest's own
    handlers on the root logger would otherwise swallow it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None and logger is not logging.root:
            if logger.handlers:  # the library handles its own records (often a NullHandler)
                return
            logger = logger.parent if logger.propagate else None
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # pragma: no cover - as logging.Handler.handleError would
            self.handleError(record)


@contextmanager
def _as_a_fresh_process(environ: dict[str, str], cwd: str | os.PathLike[str] | None) -> Iterator[None]:
    saved_environ, saved_cwd = dict(os.environ), os.getcwd()
    saved_signals = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    switch_interval, frozen, gc_enabled = sys.getswitchinterval(), gc.get_freeze_count(), gc.isenabled()
    last_resort = _LastResortLogging()
    os.environ.clear()
    os.environ.update(environ)
    if cwd is not None:
        os.chdir(cwd)
    logging.root.addHandler(last_resort)
    try:
        with warnings.catch_warnings():
            warnings.resetwarnings()
            for action, category, module in _PYTHON_DEFAULT_WARNINGS:
                warnings.filterwarnings(action, category=category, module=module, append=True)
            yield
    finally:
        logging.root.removeHandler(last_resort)
        os.environ.clear()
        os.environ.update(saved_environ)
        os.chdir(saved_cwd)
        for signum, handler in saved_signals.items():
            if handler is not None:
                signal.signal(signum, handler)
        sys.setswitchinterval(switch_interval)
        if gc.get_freeze_count() > frozen:
            gc.unfreeze()
        (gc.enable if gc_enabled else gc.disable)()


def _environment(env: dict[str, str] | None, replace_env: bool) -> dict[str, str]:
    full_env = {} if replace_env else dict(os.environ)
    full_env.pop("FOUREYES_DEBUG", None)
    # tables are laid out for $COLUMNS when it is set; a test worker inherits one (80) that a
    # user's piped command would not have: a test that wants a width says so in ``env``
    full_env.pop("COLUMNS", None)
    full_env.update(env or {})
    return full_env


def run_cli(*args: str, env: dict[str, str] | None = None, input: str | None = None,
            cwd: str | os.PathLike[str] | None = None, replace_env: bool = False,
            timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """`foureyes ARGS` run in this process as a user's shell would run it; a CompletedProcess.

    ``env`` adds to this process's environment (``replace_env=True``: is the whole of it);
    ``timeout`` is accepted for `run_process`'s sake and not enforced here.
    """
    from click.testing import CliRunner

    from foureyes.cli import main

    with _as_a_fresh_process(_environment(env, replace_env), cwd):
        result = CliRunner().invoke(main, list(args), input=input, prog_name="foureyes", catch_exceptions=True)
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        # what the interpreter prints for an exception that escapes `main`
        stderr += "".join(traceback.format_exception(*result.exc_info))  # type: ignore[misc]
    return subprocess.CompletedProcess(["foureyes", *args], result.exit_code, result.stdout, stderr)


def run_process(*args: str, env: dict[str, str] | None = None, input: str | None = None,
                cwd: str | os.PathLike[str] | None = None, replace_env: bool = False,
                timeout: float = 120) -> "subprocess.CompletedProcess[str]":
    """`python -m foureyes ARGS` in a child process: the real entry point, exit code and streams."""
    return subprocess.run([sys.executable, "-m", "foureyes", *args], capture_output=True, text=True,
                          env=_environment(env, replace_env), input=input, cwd=cwd, timeout=timeout)


@pytest.fixture
def cli():
    """`foureyes ARGS` in this process (`run_cli`)."""
    return run_cli


@pytest.fixture
def cli_process():
    """`python -m foureyes ARGS` in a child process (`run_process`)."""
    return run_process


# -- AWS -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto() -> Iterator[Any]:
    """This worker's moto server (tests/fakes/aws_server.py): ``moto.world(name, build)`` for a
    world that modules only read, ``moto.fresh()`` for an empty one a module fills itself."""
    from fakes.aws_server import MotoServer

    server = MotoServer()
    yield server
    server.stop()


# -- stores built once -------------------------------------------------------------------


class StoreTemplates:
    """Stores that take a while to build, built once per worker and copied for each test.

    ``copy(name, build, url)`` makes the empty store at ``url`` a copy of the template ``name``,
    which ``build(store)`` fills the first time it is asked for on that backend: SQLite by a file
    copy, PostgreSQL by ``CREATE DATABASE ... TEMPLATE`` (each worker has its own templates, so
    no two workers ever copy from, or build, the same database).
    """

    def __init__(self, directory: Path, admin: str | None) -> None:
        self.directory, self.admin = directory, admin
        self._sqlite: dict[str, Path] = {}
        self._postgres: dict[str, str] = {}

    def copy(self, name: str, build: Callable[[Any], object], url: str) -> str:
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        if parsed.get_backend_name() == "sqlite":
            target = Path(parsed.database or "")
            template = self._sqlite_template(name, build)
            for suffix in ("", "-wal", "-shm"):
                if Path(f"{template}{suffix}").exists():
                    shutil.copyfile(f"{template}{suffix}", f"{target}{suffix}")
            target.chmod(0o600)
            return url
        template_db = self._postgres_template(name, build)
        self._admin_sql(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)',
                        f'CREATE DATABASE "{parsed.database}" TEMPLATE "{template_db}"')
        return url

    def sqlite_path(self, name: str, build: Callable[[Any], object]) -> Path:
        """The SQLite template itself (copy it; never open it for writing)."""
        return self._sqlite_template(name, build)

    def _sqlite_template(self, name: str, build: Callable[[Any], object]) -> Path:
        from foureyes.store import Store

        if name not in self._sqlite:
            path = self.directory / f"{name}.db"
            with Store(f"sqlite:///{path}") as store:
                build(store)
            self._sqlite[name] = path
        return self._sqlite[name]

    def _postgres_template(self, name: str, build: Callable[[Any], object]) -> str:
        import uuid

        from sqlalchemy.engine import make_url

        from foureyes.store import Store

        if name not in self._postgres:
            assert self.admin, "PostgreSQL templates need FOUREYES_TEST_PG_URL"
            database = f"fe_tpl_{name}_{uuid.uuid4().hex[:8]}"
            self._admin_sql(f'CREATE DATABASE "{database}"')
            with Store(make_url(self.admin).set(database=database).render_as_string(hide_password=False)) as store:
                build(store)  # closing the store disposes its pool: a template must have no connections
            self._postgres[name] = database
        return self._postgres[name]

    def _admin_sql(self, *statements: str) -> None:
        from sqlalchemy import create_engine, text

        engine = create_engine(self.admin or "", isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                for statement in statements:
                    conn.execute(text(statement))
        finally:
            engine.dispose()

    def drop_all(self) -> None:
        for database in self._postgres.values():
            self._admin_sql(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        self._postgres.clear()


@pytest.fixture(scope="session")
def store_templates(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StoreTemplates]:
    templates = StoreTemplates(tmp_path_factory.mktemp("store-templates"), _pg_admin_url())
    yield templates
    templates.drop_all()


def store_at_version(url: str, version: int) -> Any:
    """A store at schema ``version`` (migrations 1 to ``version`` applied, as an older release left
    it), opened without migrating; the caller closes it."""
    from foureyes.store import Store, migrations

    old = Store(url, migrate=False)
    with old.engine.begin() as conn:
        for number, description, step in migrations.MIGRATIONS:
            if number <= version:
                step(conn)
                migrations.record(conn, number, description)
    return old


def load_demo(store: Any) -> None:
    """The two Acme snapshots (October and November), as `foureyes demo --load` stores them."""
    from foureyes.connectors import demo

    list(demo.load_into(store))


@pytest.fixture
def demo_store(tmp_path: Path, store_templates: StoreTemplates, monkeypatch: pytest.MonkeyPatch) -> str:
    """A store holding the two Acme snapshots; returns its URL (also set as FOUREYES_STORE_URL)."""
    url = store_templates.copy("demo", load_demo, f"sqlite:///{tmp_path / 'demo-test.db'}")
    monkeypatch.setenv("FOUREYES_STORE_URL", url)
    return url


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
