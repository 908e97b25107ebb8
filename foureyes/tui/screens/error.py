"""The error modal: what failed, in one message, and that the app is still usable."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from ...textsafe import safe_multiline, safe_text


class ErrorScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,enter,q", "dismiss", "Close", id="error.close")]
    DEFAULT_CSS = """
    ErrorScreen { align: center middle; }
    ErrorScreen > Vertical {
        width: 80; height: auto; max-height: 80%; border: thick $error; background: $surface; padding: 1 2;
    }
    ErrorScreen #error-title { text-style: bold; color: $error; }
    ErrorScreen #error-hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.error_title = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe_text(self.error_title)), id="error-title")
            yield Static(Text(safe_multiline(self.message)), id="error-message")
            yield Static(Text("Press escape to close. What was on screen before is still there."), id="error-hint")
