"""The review queue's small modals: confirm a bulk decision, an exception's reason and expiry,
a line of text (note, reviewer), and closing a campaign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, Callable

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from ...errors import FoureyesError
from ...textsafe import safe_multiline, safe_text

DIALOG_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 84; height: auto; max-height: 80%; border: thick $accent; background: $surface; padding: 1 2;
}}
{name} .dialog-title {{ text-style: bold; }}
{name} .dialog-hint {{ color: $text-muted; margin-top: 1; }}
{name} .dialog-error {{ color: $error; height: auto; }}
{name} Input {{ margin-top: 1; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no, for a decision on several items at once."""

    BINDINGS = [Binding("y,enter", "answer(True)", "Yes", id="confirm.yes", tooltip="Decide them all"),
                Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="Decide nothing")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self.title_text = title
        self.message = message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe_text(self.title_text)), classes="dialog-title")
            yield Static(Text(safe_multiline(self.message)))
            yield Static(Text("y or enter: yes · n or escape: no"), classes="dialog-hint")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class TextScreen(ModalScreen[str | None]):
    """One line of text; ``required`` refuses an empty answer."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="text.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="TextScreen")

    def __init__(self, title: str, hint: str = "", *, value: str = "", placeholder: str = "",
                 required: bool = True) -> None:
        super().__init__()
        self.title_text = title
        self.hint = hint
        self.value = value
        self.placeholder = placeholder
        self.required = required

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(safe_text(self.title_text)), classes="dialog-title")
            if self.hint:
                yield Static(Text(safe_multiline(self.hint)))
            yield Input(value=self.value, placeholder=self.placeholder, id="text-input")
            yield Static("", classes="dialog-error", id="text-error")
            yield Static(Text("enter: done · escape: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        box = self.query_one("#text-input", Input)
        if self.app.is_headless:
            box.cursor_blink = False
        box.focus()

    @on(Input.Submitted, "#text-input")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        if self.required and not text:
            self.query_one("#text-error", Static).update(Text("Please write something (escape cancels)."))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        self.dismiss(None)


@dataclass
class ExceptionRefused(Message):
    text: str


@dataclass
class ExceptionAccepted(Message):
    result: Any


class ExceptionScreen(ModalScreen[Any]):
    """An exception's reason and expiry; it counts only once a second person approves it.

    With ``submit`` the dialog records the request itself (in a worker) and closes only when
    it is accepted, with what ``submit`` returned: a refusal is shown here and what was typed
    stays. Without it, the dialog closes with ``(reason, expires)``."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="exception.cancel",
                        tooltip="Close without requesting (enter in the expiry requests it)")]
    DEFAULT_CSS = DIALOG_CSS.format(name="ExceptionScreen")

    def __init__(self, item_label: str, *, max_days: int, today: date | None = None,
                 submit: Callable[[str, date], Any] | None = None) -> None:
        super().__init__()
        self.item_label = item_label
        self.max_days = max_days
        self.today = today or date.today()
        self.submit = submit

    def compose(self) -> ComposeResult:
        default = self.today + timedelta(days=min(90, self.max_days))
        with Vertical():
            yield Static(Text("Request an exception"), classes="dialog-title")
            yield Static(Text(safe_text(self.item_label)))
            yield Static(Text("It counts only once a second person, neither you nor the subject, approves it."))
            yield Input(placeholder="reason: why the access is accepted (required)", id="exception-reason")
            yield Input(value=default.isoformat(), placeholder="expires YYYY-MM-DD", id="exception-expires")
            yield Static("", classes="dialog-error", id="exception-error")
            yield Static(Text(f"enter: request · escape: cancel · at most {self.max_days} days ahead"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        for box in self.query(Input):
            if self.app.is_headless:
                box.cursor_blink = False
        self.query_one("#exception-reason", Input).focus()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        reason = self.query_one("#exception-reason", Input).value.strip()
        expires_text = self.query_one("#exception-expires", Input).value.strip()
        error = self.query_one("#exception-error", Static)
        if event.input.id == "exception-reason" and reason:
            self.query_one("#exception-expires", Input).focus()
            return
        if not reason:
            error.update(Text("An exception needs a reason."))
            self.query_one("#exception-reason", Input).focus()
            return
        try:
            expires = date.fromisoformat(expires_text)
        except ValueError:
            error.update(Text(f"Expiry {safe_text(expires_text)!r} is not a date such as 2027-03-31."))
            self.query_one("#exception-expires", Input).focus()
            return
        latest = self.today + timedelta(days=self.max_days)
        if not self.today < expires <= latest:
            error.update(Text(f"Expiry {expires.isoformat()} must be after today and at most {self.max_days} days "
                              f"ahead (by {latest.isoformat()})."))
            self.query_one("#exception-expires", Input).focus()
            return
        if self.submit is None:
            self.dismiss((reason, expires))
            return
        error.update(Text("Recording the request…", style="italic"))
        self.record(reason, expires)

    @work(thread=True, exclusive=True, exit_on_error=False, group="exception-request",
          description="request an exception")
    def record(self, reason: str, expires: date) -> None:
        assert self.submit is not None
        try:
            result = self.submit(reason, expires)
        except FoureyesError as refusal:
            self.post_message(ExceptionRefused(str(refusal)))
            return
        self.post_message(ExceptionAccepted(result))

    def on_exception_refused(self, message: ExceptionRefused) -> None:
        self.query_one("#exception-error", Static).update(Text("Refused: " + safe_text(message.text)))

    def on_exception_accepted(self, message: ExceptionAccepted) -> None:
        self.dismiss(message.result)

    def action_cancel(self) -> None:
        self.dismiss(None)


class CloseScreen(ModalScreen[str | None]):
    """Close a campaign: with unresolved items it needs a reason, and they follow the close policy."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="close.cancel")]
    DEFAULT_CSS = DIALOG_CSS.format(name="CloseScreen")

    def __init__(self, campaign_name: str, unresolved: int, policy: str) -> None:
        super().__init__()
        self.campaign_name = campaign_name
        self.unresolved = unresolved
        self.policy = policy

    def compose(self) -> ComposeResult:
        outcome = "become revoke" if self.policy == "revoke" else "are skipped"
        with Vertical():
            yield Static(Text(f"Close {safe_text(self.campaign_name)}"), classes="dialog-title")
            if self.unresolved:
                many = "items are" if self.unresolved != 1 else "item is"
                yield Static(Text(f"{self.unresolved} {many} still unresolved. Closing anyway needs a reason; "
                                  f"they then {outcome} (the campaign's close policy).", style="bold yellow"))
            else:
                yield Static(Text("Every item is decided."))
            yield Input(placeholder="reason" + (" (required)" if self.unresolved else " (optional)"),
                        id="close-reason")
            yield Static("", classes="dialog-error", id="close-error")
            yield Static(Text("enter: close the campaign · escape: cancel"), classes="dialog-hint")

    def on_mount(self) -> None:
        box = self.query_one("#close-reason", Input)
        if self.app.is_headless:
            box.cursor_blink = False
        box.focus()

    @on(Input.Submitted, "#close-reason")
    def _submitted(self, event: Input.Submitted) -> None:
        reason = event.value.strip()
        if self.unresolved and not reason:
            self.query_one("#close-error", Static).update(Text("Closing with unresolved items needs a reason."))
            return
        self.dismiss(reason)

    def action_cancel(self) -> None:
        self.dismiss(None)
