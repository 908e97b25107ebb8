"""Export from the campaign (review) screen: the revocation tickets or the evidence report,
previewed exactly as they will be written, then saved to a file.

Building runs in a worker and only reads the store (a preview never writes); the preview is
a read-only text area, so untrusted names show literally.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Checkbox, Input, RadioButton, RadioSet, Static, TextArea
from textual.worker import get_current_worker

from ... import review
from ...errors import FoureyesError
from ...workspace import REPORT_FORMATS, TICKET_FORMATS
from ...textsafe import safe_text
from .base import ReportsWorkerFailures


@dataclass(frozen=True)
class Choice:
    id: str
    label: str
    kind: str  # tickets | report
    fmt: str
    suffix: str


# Every ticket file format, then every report format (GitHub issues are filed from the CLI).
CHOICES: tuple[Choice, ...] = tuple(
    Choice(f"tickets-{f.name}", f"Tickets · {f.label}", "tickets", f.name, f.suffix)
    for f in TICKET_FORMATS if f.is_file
) + tuple(Choice(f"report-{f.name}", f"Evidence report · {f.label}", "report", f.name, f.suffix)
          for f in REPORT_FORMATS)


class ChoiceSet(RadioSet):
    """Radio buttons chosen with the arrows: the highlight is the choice (as the hint says)."""

    def action_previous_button(self) -> None:
        super().action_previous_button()
        self._press_highlighted()

    def action_next_button(self) -> None:
        super().action_next_button()
        self._press_highlighted()

    def action_toggle_button(self) -> None:
        self._press_highlighted()  # enter or space on the choice made keeps it

    def _press_highlighted(self) -> None:
        if self._selected is not None:
            button = self._nodes[self._selected]
            if isinstance(button, RadioButton) and not button.value:
                button.value = True


@dataclass
class PreviewReady(Message):
    choice: str
    group: bool
    text: str  # what the file will hold
    shown: str  # what the preview shows: the same, except an HTML page is shown as its Markdown twin
    summary: str


@dataclass
class ExportFailed(Message):
    text: str


@dataclass
class Saved(Message):
    path: str
    summary: str


class ExportScreen(ReportsWorkerFailures, ModalScreen[str | None]):
    """Pick what to export, read the preview, save it (ctrl+s)."""

    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="export.save", tooltip="Write the previewed file"),
        Binding("ctrl+g", "toggle_group", "Group tickets", id="export.group",
                tooltip="One ticket per system and resource instead of one per revoked grant"),
        Binding("escape,q", "cancel", "Close", id="export.cancel", tooltip="Close without saving (↑↓ choose the format)"),
    ]
    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical { width: 92%; height: 92%; border: thick $accent; background: $surface; padding: 0 1; }
    ExportScreen .dialog-title { text-style: bold; height: 1; }
    ExportScreen #export-options { height: auto; }
    ExportScreen RadioSet { width: 36; height: auto; }
    ExportScreen #export-side { width: 1fr; height: auto; padding-left: 1; }
    ExportScreen #export-path { margin-top: 1; }
    ExportScreen #export-status { height: auto; color: $text-muted; }
    ExportScreen #export-status.-error { color: $error; }
    ExportScreen #export-preview { height: 1fr; }
    ExportScreen .dialog-hint { color: $text-muted; height: auto; }
    """

    def __init__(self, campaign: review.Campaign, *, directory: Path | None = None) -> None:
        super().__init__()
        self.campaign = campaign
        self.directory = directory or Path.cwd()
        self.choice = CHOICES[0]
        self.group = False
        self.preview: tuple[str, bool, str] | None = None  # (choice id, group, text) on screen
        self._cache: dict[Any, Any] = {}  # built tickets and evidence, reused when only the format changes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"Export campaign {self.campaign.id} ")
                         + Text(safe_text(self.campaign.name, limit=80)), classes="dialog-title")
            with Horizontal(id="export-options"):
                with ChoiceSet(id="export-choice"):
                    for n, choice in enumerate(CHOICES):
                        yield RadioButton(choice.label, value=n == 0, id=f"choice-{choice.id}")
                with Vertical(id="export-side"):
                    yield Checkbox("One ticket per system and resource (ctrl+g)", id="export-group")
                    yield Input(value=str(self._default_path()), id="export-path",
                                placeholder="file to write")
                    yield Static(Text("Preparing the preview…", style="italic"), id="export-status")
            yield TextArea("", read_only=True, show_line_numbers=False, soft_wrap=True, id="export-preview")
            yield Static(Text("↑↓ choose · tab to the preview (↑↓ scroll) · ctrl+g group tickets · ctrl+s save · "
                              "esc or q close · GitHub issues: foureyes export tickets --format github"),
                         classes="dialog-hint")

    def on_mount(self) -> None:
        if self.app.is_headless:
            self.query_one("#export-path", Input).cursor_blink = False
        self.query_one("#export-choice", RadioSet).focus()
        self.refresh_preview()

    def _default_path(self) -> Path:
        return self.directory / f"campaign-{self.campaign.id}-{self.choice.suffix}"

    # ------------------------------------------------------------ choosing

    @on(RadioSet.Changed, "#export-choice")
    def _chosen(self, event: RadioSet.Changed) -> None:
        old_default = str(self._default_path())
        self.choice = CHOICES[event.index]
        path = self.query_one("#export-path", Input)
        if path.value in ("", old_default):  # follow the format unless the user typed a path
            path.value = str(self._default_path())
        self.query_one("#export-group", Checkbox).disabled = self.choice.kind != "tickets"
        self.refresh_preview()

    @on(Checkbox.Changed, "#export-group")
    def _grouped(self, event: Checkbox.Changed) -> None:
        self.group = event.value
        self.refresh_preview()

    def action_toggle_group(self) -> None:
        if self.choice.kind == "tickets":
            box = self.query_one("#export-group", Checkbox)
            box.value = not box.value

    def refresh_preview(self) -> None:
        self.preview = None
        self._status(Text("Preparing the preview…", style="italic"))
        self.build(self.choice, self.group)

    # ------------------------------------------------------------ building (worker)

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-preview", description="prepare an export")
    def build(self, choice: Choice, group: bool) -> None:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        shown: str | None = None
        try:
            if choice.kind == "tickets":
                key = ("tickets", group)
                if key not in self._cache:
                    self._cache[key] = workspace.tickets(self.campaign.id, group=group)
                found = self._cache[key]
                text = workspace.render_tickets(found, choice.fmt)
                n = len(found.tickets)
                summary = f"{n} ticket{'s' if n != 1 else ''}" + (" (grouped)" if group else "")
            else:
                if "report" not in self._cache:
                    self._cache["report"] = workspace.report(self.campaign.id)
                evidence = self._cache["report"]
                text = workspace.render_report(evidence, choice.fmt)
                summary = (f"{evidence.progress.total} items, {len(evidence.findings)} findings, "
                           f"audit head {evidence.chain.head.hash[:16]}…")
                if choice.fmt == "html":  # its source is CSS first: show what the page says instead
                    shown = workspace.render_report(evidence, "markdown")
                    summary += " · the page's content shown as Markdown; the file is one HTML page"
        except FoureyesError as error:
            self.post_message(ExportFailed(str(error)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(PreviewReady(choice.id, group, text, text if shown is None else shown, summary))

    def on_preview_ready(self, message: PreviewReady) -> None:
        if message.choice != self.choice.id or (self.choice.kind == "tickets" and message.group != self.group):
            return  # the user moved on; the newer preview is coming
        self.preview = (message.choice, message.group, message.text)
        area = self.query_one("#export-preview", TextArea)
        area.load_text(message.shown)
        area.scroll_home(animate=False)
        lines = message.text.count("\n")
        self._status(Text(f"{message.summary} · {lines} lines · ctrl+s writes it to the file above"))

    def on_export_failed(self, message: ExportFailed) -> None:
        self._status(Text(safe_text(message.text)), error=True)

    def _status(self, text: Text, *, error: bool = False) -> None:
        status = self.query_one("#export-status", Static)
        status.update(text)
        status.set_class(error, "-error")

    # ------------------------------------------------------------ saving

    def action_save(self) -> None:
        if self.preview is None:
            self.app.bell()
            self._status(Text("The preview is not ready yet.", style="italic"))
            return
        path = self.query_one("#export-path", Input).value.strip()
        if not path:
            self._status(Text("Name the file to write."), error=True)
            return
        target = Path(path).expanduser()
        self.save(target if target.is_absolute() else self.directory / target, self.preview[2])

    @on(Input.Submitted, "#export-path")
    def _path_submitted(self, event: Input.Submitted) -> None:
        self.action_save()

    @work(thread=True, exclusive=True, exit_on_error=False, group="export-save", description="write an export")
    def save(self, path: Path, text: str) -> None:
        try:
            written = self.app.workspace.write_export(path, text)  # type: ignore[attr-defined]
        except FoureyesError as error:
            self.post_message(ExportFailed(str(error)))
            return
        self.post_message(Saved(str(written), self.choice.label))

    def on_saved(self, message: Saved) -> None:
        self.dismiss(message.path)

    def action_cancel(self) -> None:
        self.dismiss(None)
