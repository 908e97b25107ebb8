"""The Textual terminal UI. The only part of foureyes that imports Textual."""

from __future__ import annotations

from typing import Any


def make_app(*, store_url: str, config: Any = None, demo: bool = False) -> Any:
    """Build the app (one factory for the CLI and the tests)."""
    from .app import FoureyesApp

    return FoureyesApp(store_url=store_url, config=config, demo=demo)


def run_app(*, store_url: str, config: Any = None, demo: bool = False) -> None:
    make_app(store_url=store_url, config=config, demo=demo).run()
