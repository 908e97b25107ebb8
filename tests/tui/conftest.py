"""TUI fixtures: the Acme demo store (built once), a settled app, and the screen as text."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from conftest import load_demo

SIZE = (160, 45)


@pytest.fixture
def demo_url(store_templates, tmp_path: Path) -> str:
    """A private copy of the two Acme snapshots (built once), so no test sees another's writes."""
    return store_templates.copy("demo", load_demo, f"sqlite:///{tmp_path / 'demo.db'}")


async def settle(app: Any, pilot: Any) -> None:
    """Wait until every worker (loading, rows, detail panes) has reported and been drawn: until
    two pauses in a row end with no worker running (a worker's last message, or a callback
    after the refresh, may start the next one). Each pause redraws the screen, and waits for
    the process to go idle, so a settled key costs two of them instead of a fixed five."""
    quiet = 0
    for _ in range(16):
        if len(app.workers):
            await app.workers.wait_for_complete()
            quiet = 0
        await pilot.pause()
        quiet = 0 if len(app.workers) else quiet + 1
        if quiet == 2:
            return
    raise AssertionError(f"the app never settled: workers still running {list(app.workers)}")


async def press(app: Any, pilot: Any, *keys: str) -> None:
    for key in keys:
        await pilot.press(key)
        await settle(app, pilot)


async def type_text(app: Any, pilot: Any, text: str) -> None:
    await pilot.press(*["space" if c == " " else c for c in text])
    await settle(app, pilot)


def screen_text(app: Any) -> str:
    """The terminal as a user sees it, as plain text (what the SVG snapshot shows, minus colour)."""
    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
