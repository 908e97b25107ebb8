"""The Textual terminal UI. The only part of foureyes that imports Textual."""

from __future__ import annotations

from typing import Any


def make_app(*, store_url: str, config: Any = None, demo: bool = False, **review: Any) -> Any:
    """Build the app (one factory for the CLI and the tests); ``review`` takes reviewer,
    campaign_id and review=True to open on the review queue."""
    from .app import FoureyesApp

    return FoureyesApp(store_url=store_url, config=config, demo=demo, **review)


def run_app(*, store_url: str, config: Any = None, demo: bool = False, **review: Any) -> None:
    make_app(store_url=store_url, config=config, demo=demo, **review).run()
