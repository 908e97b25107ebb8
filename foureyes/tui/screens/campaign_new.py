"""Create a recertification campaign: from a configured template, or scope, reviewers and due date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static

from ... import review
from ...errors import FoureyesError
from ...textsafe import safe_text

NO_TEMPLATE = "(none: choose below)"


@dataclass
class CampaignCreated(Message):
    campaign_id: int
    created: bool


@dataclass
class CampaignFailed(Message):
    text: str


def _words(text: str) -> tuple[str, ...]:
    return tuple(w.strip() for w in text.replace(",", " ").split() if w.strip())


class NewCampaignScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="campaign_new.cancel", tooltip="Close without creating"),
                Binding("ctrl+s", "create", "Create", id="campaign_new.create", tooltip="Create the campaign")]
    DEFAULT_CSS = """
    NewCampaignScreen { align: center middle; }
    NewCampaignScreen > Vertical { width: 96; height: 90%; border: thick $accent; background: $surface; padding: 0 1; }
    NewCampaignScreen #form { height: 1fr; }
    NewCampaignScreen .field { height: auto; margin-top: 1; }
    NewCampaignScreen .field Label { width: 18; padding: 1 1 0 0; text-style: bold; }
    NewCampaignScreen .field Input, NewCampaignScreen .field Select { width: 1fr; }
    NewCampaignScreen #rules { height: auto; }
    NewCampaignScreen #rules Checkbox { width: auto; }
    NewCampaignScreen #campaign-error { color: $error; height: auto; }
    NewCampaignScreen #campaign-buttons { height: auto; align-horizontal: right; }
    NewCampaignScreen .hint { color: $text-muted; height: auto; }
    """

    def compose(self) -> ComposeResult:
        config = self.app.config  # type: ignore[attr-defined]
        defaults = config.campaigns
        triage = getattr(self.app, "triage", None)
        today = date.today()
        templates = [(NO_TEMPLATE, NO_TEMPLATE)] + [(name, name) for name in sorted(defaults.templates)]
        apps = ", ".join(triage.apps) if triage is not None else ", ".join(a.name for a in config.apps)
        with Vertical():
            yield Static(Text("New recertification campaign", style="bold"))
            with VerticalScroll(id="form"):
                with Horizontal(classes="field"):
                    yield Label("Template")
                    yield Select(templates, value=NO_TEMPLATE, allow_blank=False, id="campaign-template")
                with Horizontal(classes="field"):
                    yield Label("Name")
                    yield Input(value=f"Access review {today.isoformat()}", id="campaign-name")
                with Horizontal(classes="field"):
                    yield Label("Scope")
                    yield Select([("all production grants", "production"), ("grants in a conflict", "conflicts"),
                                  ("new since the last closed campaign", "drift"),
                                  ("each use of an emergency path", "emergency"), ("all grants", "all")],
                                 value="production", allow_blank=False, id="campaign-scope")
                with Horizontal(classes="field"):
                    yield Label("Systems")
                    yield Input(placeholder="github aws gcp ci (empty: all)", id="campaign-systems")
                with Horizontal(classes="field"):
                    yield Label("Apps")
                    yield Input(placeholder=safe_text(f"empty: all · {apps}", limit=80), id="campaign-apps")
                with Horizontal(classes="field"):
                    yield Label("Teams")
                    yield Input(placeholder="GitHub team slugs: their members' access", id="campaign-teams")
                with Horizontal(classes="field"):
                    yield Label("People")
                    yield Input(placeholder="emails or SYSTEM:ID", id="campaign-people")
                with Horizontal(classes="field", id="rules"):
                    yield Label("Reviewers")
                    yield Checkbox("app owner", "app-owner" in defaults.reviewers, id="rule-app-owner")
                    yield Checkbox("team maintainer", "team-maintainer" in defaults.reviewers,
                                   id="rule-team-maintainer")
                    yield Checkbox("fixed list", "fixed" in defaults.reviewers, id="rule-fixed")
                with Horizontal(classes="field"):
                    yield Label("Fixed list")
                    yield Input(placeholder="emails, shared round-robin (rule 'fixed list')", id="campaign-fixed")
                with Horizontal(classes="field"):
                    yield Label("Fallback")
                    yield Input(value=defaults.fallback_reviewer, placeholder="reviews what no rule assigns",
                                id="campaign-fallback")
                with Horizontal(classes="field"):
                    yield Label("Due")
                    yield Input(value=(today + timedelta(days=defaults.due_days)).isoformat(), id="campaign-due")
                with Horizontal(classes="field"):
                    yield Label("Snapshot")
                    yield Input(value=str(triage.snapshot_id) if triage is not None else "latest",
                                id="campaign-snapshot")
                yield Static(Text("Items are frozen from the snapshot now; nobody is ever assigned their own "
                                  "access.", style="italic"), classes="hint")
            yield Static("", id="campaign-error")
            with Horizontal(id="campaign-buttons"):
                yield Button("Cancel", id="campaign-cancel")
                yield Button("Create (ctrl+s)", variant="primary", id="campaign-create")

    def on_mount(self) -> None:
        if self.app.is_headless:
            for box in self.query(Input):
                box.cursor_blink = False
        self.query_one("#campaign-name", Input).focus()

    def _value(self, widget_id: str) -> str:
        return self.query_one(f"#{widget_id}", Input).value.strip()

    @on(Select.Changed, "#campaign-template")
    def _template_changed(self, event: Select.Changed) -> None:
        templated = event.value != NO_TEMPLATE
        for widget in self.query("#form Input, #form Checkbox, #campaign-scope"):
            widget.disabled = templated

    @on(Button.Pressed, "#campaign-cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Button.Pressed, "#campaign-create")
    def action_create(self) -> None:
        error = self.query_one("#campaign-error", Static)
        template = self.query_one("#campaign-template", Select).value
        actor = getattr(self.app, "reviewer", "") or "tui"
        snapshot = self._value("campaign-snapshot") or "latest"
        try:
            if template != NO_TEMPLATE:
                request: Any = ("template", str(template))
            else:
                due_text = self._value("campaign-due")
                try:
                    due = date.fromisoformat(due_text) if due_text else None
                except ValueError:
                    raise FoureyesError(f"due date {due_text!r}: expected YYYY-MM-DD") from None
                rules = tuple(rule for rule in ("app-owner", "team-maintainer", "fixed")
                              if self.query_one(f"#rule-{rule}", Checkbox).value)
                scope = review.Scope(kind=str(self.query_one("#campaign-scope", Select).value),
                                     systems=_words(self._value("campaign-systems")),
                                     apps=_words(self._value("campaign-apps")),
                                     teams=_words(self._value("campaign-teams")),
                                     people=_words(self._value("campaign-people")))
                reviewers = review.ReviewerRules(rules=rules,
                                                 fixed=tuple(w.lower() for w in _words(self._value("campaign-fixed"))),
                                                 fallback=self._value("campaign-fallback").lower())
                request = ("spec", self.app.workspace.campaign_spec(  # type: ignore[attr-defined]
                    name=self._value("campaign-name"), scope=scope, reviewers=reviewers, due=due))
        except FoureyesError as exc:
            error.update(Text(safe_text(str(exc))))
            return
        error.update(Text("Freezing the campaign's items…", style="italic"))
        self.query_one("#campaign-create", Button).disabled = True
        self.create(request, actor, snapshot)

    @work(thread=True, exclusive=True, exit_on_error=False, group="campaign-new", description="create a campaign")
    def create(self, request: tuple[str, Any], actor: str, snapshot: str) -> None:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        try:
            if request[0] == "template":
                campaign, created = workspace.create_from_template(request[1], actor=actor, snapshot=snapshot)
            else:
                campaign, created = workspace.create_campaign(request[1], actor=actor, snapshot=snapshot), True
        except FoureyesError as exc:
            self.post_message(CampaignFailed(str(exc)))
            return
        self.post_message(CampaignCreated(campaign.id, created))

    def on_campaign_created(self, message: CampaignCreated) -> None:
        if not message.created:
            self.notify(f"This period's campaign from the template already exists: campaign {message.campaign_id}.",
                        markup=False, timeout=5)
        self.dismiss(message.campaign_id)

    def on_campaign_failed(self, message: CampaignFailed) -> None:
        self.query_one("#campaign-create", Button).disabled = False
        self.query_one("#campaign-error", Static).update(Text(safe_text(message.text)))
