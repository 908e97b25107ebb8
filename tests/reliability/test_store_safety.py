"""The store's secrets and permissions: a password in its URL is never shown, SQLite URIs get the
same 0600 file (or none), and a store others could change is warned about.

Found: `?password=` in the store URL was printed in errors and success lines (`user:pw@` was
masked); `sqlite:///file:store.db` created a 0644 file; `?mode=memory` wrote to disk; nothing
warned about a world-writable store directory or a store file owned by another user.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from foureyes.errors import StoreError
from foureyes.store import Store, mask_url

PASSWORD = "pw-QUERY-canary-0451"


def test_a_password_in_the_query_is_masked_like_one_before_the_host(tmp_path, cli):
    for url in (f"postgresql+psycopg://auditor@127.0.0.1:1/foureyes?password={PASSWORD}&sslmode=disable",
                f"postgresql+psycopg://auditor:{PASSWORD}@127.0.0.1:1/foureyes?sslpassword={PASSWORD}"):
        result = cli("snapshots", env={"FOUREYES_STORE_URL": url})
        assert result.returncode == 2, result.stderr
        assert PASSWORD not in result.stderr + result.stdout
        assert "cannot open store postgresql+psycopg://auditor" in result.stderr and "***" in result.stderr
    # the success line of a snapshot shows the store's URL: masked there too
    assert mask_url(f"sqlite:////data/f.db?password={PASSWORD}") == "sqlite:////data/f.db?password=***"
    assert mask_url(f"postgresql://a:{PASSWORD}@db/x?Password={PASSWORD}&x=1") == \
        "postgresql://a:***@db/x?Password=***&x=1"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_sqlite_uri_forms_get_the_same_0600_file_or_none(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # found: a `file:` name bypassed the 0600 creation (the file came out 0644, named "file:store.db")
    for url, name in ((f"sqlite:///file:{tmp_path}/a.db", "a.db"), ("sqlite:///file:b.db?uri=true", "b.db"),
                      (f"sqlite:///file://{tmp_path}/c.db?mode=rwc&uri=true", "c.db"),
                      (f"sqlite:///{tmp_path}/d.db?mode=rwc", "d.db")):
        with Store(url) as store:
            assert store.path == tmp_path / name
            store.list_snapshots()
        assert _mode(tmp_path / name) == 0o600, url
    assert not list(tmp_path.glob("file:*"))
    # found: ?mode=memory wrote a file; now it is an in-memory store, nothing on disk
    before = set(tmp_path.iterdir())
    for url in ("sqlite:///e.db?mode=memory", "sqlite:///file:f.db?mode=memory&uri=true"):
        with Store(url) as store:
            assert store.path is None and store.list_snapshots() == []
    assert set(tmp_path.iterdir()) == before
    for url, why in (("sqlite:///g.db?mode=ro", "?mode=ro is not supported"),
                     ("sqlite:///g.db?cache=shared&uri=true", "SQLite option 'cache' is not supported"),
                     ("sqlite:///file://elsewhere/g.db?uri=true", "a file: URI on another host"),
                     ("sqlite:///missing.db?mode=rw", "does not exist (?mode=rw opens an existing store only)")):
        with pytest.raises(StoreError, match=why.replace("?", r"\?").replace("(", r"\(").replace(")", r"\)")):
            Store(url)
    assert not (tmp_path / "g.db").exists() and not (tmp_path / "missing.db").exists()


def test_a_store_others_could_change_is_warned_about(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    warnings: list[str] = []
    Store(f"sqlite:///{shared / 'f.db'}", warn=warnings.append).close()
    assert any(w.startswith(f"the store's directory {shared} is writable by others (mode 0777)") for w in warnings)
    if os.geteuid() != 0:
        pytest.skip("giving a file to another user needs root")
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    path = private / "f.db"
    Store(f"sqlite:///{path}").close()
    os.chown(path, 4242, -1)
    warnings.clear()
    Store(f"sqlite:///{path}", warn=warnings.append).close()
    assert warnings == [f"store {path} is owned by user id 4242, not by you (0): its owner can change the "
                        "snapshots and the review records in it"]


def test_the_cli_prints_store_warnings_once_and_escaped(tmp_path, cli):
    shared = tmp_path / "shared\x1b[2J"
    shared.mkdir()
    shared.chmod(0o777)
    result = cli("snapshots", env={"FOUREYES_STORE_URL": f"sqlite:///{shared / 'f.db'}"})
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if line.startswith("foureyes: warning: ")]
    assert len(warnings) == 1 and "shared\\x1b[2J is writable by others" in warnings[0]
    assert "\x1b" not in result.stderr
