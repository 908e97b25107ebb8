"""The TUI opens on the demo store and shows the snapshot summary (Pilot)."""

from __future__ import annotations

import asyncio

from foureyes.connectors import demo
from foureyes.store import Store
from foureyes.tui import make_app


def test_demo_app_shows_the_latest_snapshot(tmp_path):
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    with Store(url) as store:
        list(demo.load_into(store))

    async def scenario() -> None:
        app = make_app(store_url=url, demo=True)
        async with app.run_test(size=(120, 36)) as pilot:
            await app.workers.wait_for_complete()
            await pilot.pause()
            summary = str(app.query_one("#summary").render())
            assert "Snapshot 2" in summary and "1 gap(s)" in summary
            assert app.query_one("#sources").row_count == 6
            await pilot.press("q")
        assert app.return_code in (0, None)

    asyncio.run(scenario())
