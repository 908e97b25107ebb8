"""The filter box: an Input that does not blink in headless runs (stable test snapshots)."""

from __future__ import annotations

from textual.widgets import Input


class FilterBox(Input):
    DEFAULT_CSS = """
    FilterBox { dock: top; height: 3; display: none; }
    FilterBox.-shown { display: block; }
    """

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.cursor_blink = False
