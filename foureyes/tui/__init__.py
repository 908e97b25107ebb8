"""The Textual terminal UI. The only part of foureyes that imports Textual."""

from __future__ import annotations

from typing import Any


def make_app(*, store_url: str | None = None, config: Any = None, demo: bool = False, workspace: Any = None,
             **review: Any) -> Any:
    """Build the app (one factory for the CLI and the tests): on an open ``workspace``, or on the
    store at ``store_url`` with ``config``; ``review`` takes reviewer, campaign_id and review=True
    to open on the review queue."""
    from .app import FoureyesApp  # importing the package must not import Textual (the CLI's help)

    return FoureyesApp(store_url=store_url, config=config, demo=demo, workspace=workspace, **review)


def run_app(*, store_url: str | None = None, config: Any = None, demo: bool = False, workspace: Any = None,
            **review: Any) -> None:
    make_app(store_url=store_url, config=config, demo=demo, workspace=workspace, **review).run()
