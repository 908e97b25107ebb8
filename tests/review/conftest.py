"""Fixtures for the review suite: the Acme demo in a fresh store on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import date
from pathlib import Path
from typing import Iterator

import pytest

from foureyes.config import Config, parse_config
from foureyes.connectors import demo
from foureyes.store import Store

from conftest import load_demo

FALLBACK = "ciso@acme.com"
# The demo's config plus a fallback reviewer who is nobody in the snapshot.
REVIEW_CONFIG_TOML = demo.DEMO_CONFIG_TOML + f"""
[campaigns]
fallback_reviewer = "{FALLBACK}"
exception_max_days = 180

[campaigns.templates.quarterly]
name = "Quarterly production review {{period}}"
recurrence = "quarterly"
scope = "production"
due_days = 21
"""
TODAY = date(2026, 11, 20)


@pytest.fixture(autouse=True)
def _nothing_left_running():
    """A big campaign's rows are let go by a daemon thread that first waits for the log's checkpoint
    (`campaigns._let_go`): wait for those a test started, and for its checkpoints, before the next
    test runs. Left running, one keeps the next test from forking until it ends mid-test, or closes
    its rows under that test's patched methods."""
    yield
    from foureyes.store import wal

    for thread in threading.enumerate():
        if thread.name == "foureyes-let-go":
            thread.join(60)
    wal.settle()


@pytest.fixture
def forks() -> Iterator[bool]:
    """Whether the code under test may fork, decided once as the test starts: where it may not
    (another thread is running, such as a fake server's a test in another folder left behind), it
    may not until the test ends, even if that thread ends meanwhile and the test's expectations
    were drawn from the first answer. (Its own patch: a test may undo its ``monkeypatch`` midway.)"""
    import foureyes.stored_holdings as stored_holdings
    from foureyes.store import forking, review, writing

    possible = forking.parallel_possible()
    with pytest.MonkeyPatch.context() as patch:
        if not possible:
            for module in (forking, review, writing, stored_holdings):
                patch.setattr(module, "parallel_possible", lambda: False)
        yield possible


@pytest.fixture
def review_config() -> Config:
    return parse_config(REVIEW_CONFIG_TOML, "<review test config>")


@pytest.fixture
def review_config_file(tmp_path: Path) -> Path:
    path = tmp_path / "foureyes.toml"
    path.write_text(REVIEW_CONFIG_TOML, encoding="utf-8")
    return path


@pytest.fixture
def store(store_url, store_templates):
    """Acme's October and November snapshots in a fresh store, on each backend (a copy of a
    store built once: tests/conftest.py's StoreTemplates)."""
    with Store(store_templates.copy("demo", load_demo, store_url)) as opened:
        yield opened


# ---------------------------------------------------------------- the evidence world (issue 16)

# Who decides what in the evidence world, in order: audit entries 2 to 7 (1 creates the campaign).
WANDA, PRISCILLA = "wanda.webb@acme.com", "priscilla.payne@acme.com"


def _evidence_world(path: Path, *, activity: bool = True) -> dict[str, int]:
    """Acme's two snapshots, one campaign on the latest, six actions: entries 1-7.

    ``activity=False``: the snapshots as foureyes wrote them before it read activity."""
    from dataclasses import replace

    from foureyes import review

    config = parse_config(REVIEW_CONFIG_TOML, "<review test config>")
    with Store(f"sqlite:///{path}") as store:
        if activity:
            list(demo.load_into(store))
        else:
            for stage in ("before", "after"):
                results = [replace(r, activity=(), period=None) for r in demo.build(stage)]
                store.write_snapshot(results, taken_at=demo.TAKEN_AT[stage], label=demo.LABEL[stage])
        spec = review.spec_from_config(config, name="Q4 evidence", today=TODAY)
        campaign = review.create_campaign(store, config, spec, actor="security@acme.com", today=TODAY)
        items = review.items(store, campaign.id)

        def one(person: str, reviewer: str, rule: str | None = None, skip: int = 0) -> int:
            found = [i.id for i in items if i.person == person and i.reviewer == reviewer
                     and (rule is None or any(c.rule == rule for c in i.conflicts))]
            return found[skip]

        ids = {"walter": one("walter.wong@acme.com", WANDA), "nina": one("nina.nakamura@acme.com", WANDA),
               "sam": one("sam.sato@acme.com", WANDA, "FE-SOD-004"),
               "nina2": one("nina.nakamura@acme.com", WANDA, skip=1),
               "max": one("max.mueller@acme.com", PRISCILLA), "paul": one("paul.platt@acme.com", PRISCILLA)}
        review.decide(store, ids["walter"], "revoke", actor=WANDA, reason="moved to the mobile team")  # 2
        review.decide(store, ids["nina"], "certify", actor=WANDA)  # 3
        review.decide(store, ids["sam"], "exception", actor=WANDA, reason="on-call rota until March",  # 4
                      expires=date(2027, 3, 31), today=TODAY)
        review.add_note(store, ids["nina2"], "asked the team lead", actor=WANDA)  # 5
        review.decide(store, ids["max"], "revoke", actor=PRISCILLA, reason="deploys through the pipeline")  # 6
        review.decide(store, ids["paul"], "certify", actor=PRISCILLA)  # 7
        return {**ids, "campaign": campaign.id}


@pytest.fixture(scope="session")
def evidence_db(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("evidence") / "evidence.db"
    return path, _evidence_world(path)


@pytest.fixture(scope="session")
def evidence_db_before_activity(tmp_path_factory) -> tuple[Path, dict[str, int]]:
    path = tmp_path_factory.mktemp("evidence-plain") / "evidence.db"
    return path, _evidence_world(path, activity=False)


@pytest.fixture
def evidence(evidence_db, tmp_path, monkeypatch):
    """A fresh copy of the evidence world (SQLite), with `run` calling the CLI in this process."""
    yield from _evidence(evidence_db, tmp_path, monkeypatch)


@pytest.fixture
def evidence_before_activity(evidence_db_before_activity, tmp_path, monkeypatch):
    """The same world with snapshots that hold no activity, as stores before activity did."""
    yield from _evidence(evidence_db_before_activity, tmp_path, monkeypatch)


def _evidence(evidence_db, tmp_path, monkeypatch):
    import shutil
    from types import SimpleNamespace

    from click.testing import CliRunner

    from foureyes.cli import main

    source, ids = evidence_db
    path = tmp_path / "evidence.db"
    shutil.copy(source, path)
    url = f"sqlite:///{path}"
    config_file = tmp_path / "foureyes.toml"
    config_file.write_text(REVIEW_CONFIG_TOML, encoding="utf-8")
    monkeypatch.setenv("FOUREYES_STORE_URL", url)

    def run(*args: str):
        result = CliRunner().invoke(main, ["-c", str(config_file), *args], catch_exceptions=False)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)

    with Store(url) as store:
        yield SimpleNamespace(store=store, url=url, path=path, ids=ids, run=run,
                              config=parse_config(REVIEW_CONFIG_TOML, "<review test config>"))
