"""Exporting from the campaign (review) screen: `x` opens the export dialog, the preview is
what will be written (hostile names literal), and `ctrl+s` saves it (Pilot)."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from export.conftest import EXPORT_CONFIG_TOML, HOSTILE, WALTER_IN_WEB, _build, hostile_acme
from foureyes.config import parse_config
from foureyes.store import Store
from foureyes.tui import make_app

from .conftest import SIZE, press, screen_text, settle

WANDA = "wanda.webb@acme.com"
CONFIG = parse_config(EXPORT_CONFIG_TOML, "<export tui>")


@pytest.fixture(scope="module")
def _campaign_db(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("tui-export") / "campaign.db"
    _build(path)
    return path


@pytest.fixture
def campaign_url(_campaign_db: Path, tmp_path: Path) -> str:
    path = tmp_path / "campaign.db"
    path.write_bytes(_campaign_db.read_bytes())
    return f"sqlite:///{path}"


def run(url: str, scenario) -> None:
    async def main() -> None:
        app = make_app(store_url=url, config=CONFIG, reviewer=WANDA, review=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await scenario(app, pilot)

    asyncio.run(main())


def _preview(app) -> str:
    return app.screen.query_one("#export-preview").text


def test_x_exports_tickets_and_the_report_with_a_preview(campaign_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def scenario(app, pilot):
        assert type(app.screen).__name__ == "ReviewScreen"
        await press(app, pilot, "x")
        assert type(app.screen).__name__ == "ExportScreen"
        text = screen_text(app)
        assert "Export campaign 1 Q4 production" in text and "4 tickets" in text
        preview = _preview(app)
        assert preview.startswith("# Revocation tickets: campaign 1 `Q4 production`")
        # team web is synchronised from an Okta group: the ticket says to fix it there
        assert "Remove walter-web from Okta group Engineering - Web" in preview
        # the hostile name is shown as it is written: its markup is text, not style
        area = app.screen.query_one("#export-preview")
        line = next(n for n, row in enumerate(preview.split("\n")) if "[bold]Zed[/bold]" in row)
        area.cursor_location = (line, 0)
        area.scroll_cursor_visible()
        await settle(app, pilot)
        assert '=HYPERLINK("http://x")\\x0a[bold]Zed[/bold] <img src=x onerror=alert(1)>' in screen_text(app)
        path = app.screen.query_one("#export-path").value
        assert path == str(tmp_path / "campaign-1-tickets.md")

        # grouped Jira CSV: the file name follows the format
        await press(app, pilot, "down")  # Tickets · Jira CSV
        await press(app, pilot, "enter")
        await press(app, pilot, "ctrl+g")
        assert "2 tickets (grouped)" in screen_text(app)
        assert _preview(app).startswith("Summary,Issue Type,Priority,Due Date,Labels")
        await press(app, pilot, "ctrl+s")
        assert type(app.screen).__name__ == "ReviewScreen"
        written = tmp_path / "campaign-1-tickets-jira.csv"
        assert f"Saved {written}" in [str(n.message) for n in app._notifications]
        rows = list(csv.reader(io.StringIO(written.read_text(encoding="utf-8"), newline="")))
        assert len(rows) == 3 and rows[0][0] == "Summary"

        # the evidence report in HTML, to a path of one's own
        await press(app, pilot, "x")
        for _ in range(4):
            await press(app, pilot, "down")
        await press(app, pilot, "enter")
        status = str(app.screen.query_one("#export-status").render())
        assert "audit head" in status and "the page's content shown as Markdown; the file is one HTML page" in status
        assert _preview(app).startswith("# Access review evidence: campaign 1, `Q4 production`")
        box = app.screen.query_one("#export-path")
        box.value = "q4-evidence.html"
        await settle(app, pilot)
        await press(app, pilot, "ctrl+s")
        html = (tmp_path / "q4-evidence.html").read_text(encoding="utf-8")
        assert "Access review evidence: campaign 1" in html
        assert HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;") in html

    run(campaign_url, scenario)


def test_a_write_that_fails_says_why_and_keeps_the_dialog(campaign_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    async def scenario(app, pilot):
        await press(app, pilot, "x")
        app.screen.query_one("#export-path").value = str(tmp_path / "missing" / "tickets.md")
        await settle(app, pilot)
        await press(app, pilot, "ctrl+s")
        assert type(app.screen).__name__ == "ExportScreen"
        status = app.screen.query_one("#export-status")
        assert status.has_class("-error")
        assert f"the directory {tmp_path / 'missing'} does not exist" in str(status.render())
        await press(app, pilot, "escape")
        assert type(app.screen).__name__ == "ReviewScreen"

    run(campaign_url, scenario)


def _store_bytes(path: Path) -> bytes:
    """The store file, with the write-ahead log folded into it first: a write still in the WAL counts."""
    with closing(sqlite3.connect(path)) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wal = path.with_name(path.name + "-wal")
    assert not wal.exists() or wal.stat().st_size == 0
    return path.read_bytes()


def test_the_export_preview_leaves_the_store_byte_for_byte_unchanged(campaign_url, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = Path(campaign_url.removeprefix("sqlite:///"))

    async def scenario(app, pilot):
        # December arrives while the queue is open: two revocations now have a later snapshot to
        # be verified against, which an export preview once recorded in the store
        with Store(campaign_url) as store:
            store.write_snapshot(hostile_acme(drop_edges=(WALTER_IN_WEB,), drop_zed_grant=True), label="December")
        before = _store_bytes(path)
        await press(app, pilot, "x")
        assert "Follow-through:** verified: gone in snapshot 4" in _preview(app)  # checked, not recorded
        for _ in range(5):  # every format: Jira CSV, CSV, JSON, the report in HTML and Markdown
            await press(app, pilot, "down", "enter")
        await press(app, pilot, "ctrl+g")
        assert _preview(app).startswith("# Access review evidence: campaign 1")
        assert "2 verified" in _preview(app)
        await press(app, pilot, "escape")
        assert _store_bytes(path) == before

    run(campaign_url, scenario)
