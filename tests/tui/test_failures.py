"""Failures in workers become one clear error modal; the app stays usable and never freezes."""

from __future__ import annotations

import asyncio

from foureyes.config import parse_config
from foureyes.store import Store
from foureyes.tui import make_app

from .conftest import SIZE, press, screen_text, settle


def test_a_store_that_cannot_be_opened_is_one_message_not_a_crash(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store's directory should be")

    async def main() -> None:
        app = make_app(store_url=f"sqlite:///{blocker}/foureyes.db")
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ErrorScreen"
            text = screen_text(app)
            assert "Could not finish: snapshot" in text and "cannot create the store at" in text
            await press(app, pilot, "escape")
            assert "Could not load a snapshot: cannot create the store" in screen_text(app)
            await press(app, pilot, "2")  # every section still answers
            assert "Could not load a snapshot" in screen_text(app)
            await press(app, pilot, "q")
        assert app.return_code in (0, None)

    asyncio.run(main())


def test_an_empty_store_says_how_to_take_a_snapshot(tmp_path):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    Store(url).close()

    async def main() -> None:
        app = make_app(store_url=url)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            text = screen_text(app)
            assert "No snapshots in" in text and "Run `foureyes snapshot`" in text
            await press(app, pilot, "slash")  # nothing to search: a bell, no crash
            assert type(app.screen).__name__ == "OverviewScreen"

    asyncio.run(main())


def test_bad_rule_configuration_is_shown_in_the_error_modal(demo_url, tmp_path):
    config = parse_config(f'[rules]\npaths = ["{tmp_path / "missing-rules.toml"}"]\n', "<test>")

    async def main() -> None:
        app = make_app(store_url=demo_url, config=config)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            assert type(app.screen).__name__ == "ErrorScreen"
            assert "missing-rules.toml: rule file or directory not found" in screen_text(app)

    asyncio.run(main())
