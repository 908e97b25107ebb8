"""Review: a reviewer's queue in a campaign, the selected item explained, decisions by key.

Every decision runs in a worker and is committed on its own (`review.decide`); the screen
then redraws the rows it changed. Guards refuse with a notification, never a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any, Callable, Iterable, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from ... import review
from ...bulk import gc_paused
from ...errors import FoureyesError
from ...textsafe import safe_text
from ..actions import Action
from ..review_state import (
    BY_PERSON,
    BY_RESOURCE,
    Queue,
    QueueFilter,
    guide_renderable,
    item_detail,
    item_row,
    load_queue,
    progress_bar,
    queue_rows,
)
from ..rows import CellCache, Row
from ..widgets.inputs import FilterBox
from ..widgets.table import RecordTable
from .base import Command, FilterActions, FoureyesScreen
from .review_dialogs import CloseScreen, ConfirmScreen, ExceptionScreen, TextScreen
from .tabular import SummaryLine

REVIEWER_ENV = "FOUREYES_REVIEWER"


@dataclass
class QueueLoaded(Message):
    queue: Queue
    rows: list[Row]


@dataclass
class Regrouped(Message):
    """A long queue's rows for the other grouping, made in a worker from ``rows``."""

    by: str
    rows: list[Row]
    regrouped: list[Row]


@dataclass
class ItemsChanged(Message):
    """Items after a decision, undo or approval, with the campaign's progress."""

    items: list[review.Item]
    progress: review.Progress
    waiting: dict[int, review.ExceptionRequest]
    notices: list[tuple[str, str]] = field(default_factory=list)  # (severity, text)
    advance: bool = False  # move the cursor to the next row (after deciding the current one)


@dataclass
class Refused(Message):
    text: str
    key: str | None = None  # the item refused: the cursor goes back to it


@dataclass
class ItemDetailReady(Message):
    key: str
    renderable: Any


class ReviewScreen(FilterActions, FoureyesScreen):
    DESTINATION = "review"
    DEFAULT_CSS = """
    ReviewScreen #review-progress-line { height: 1; padding: 0 1; }
    ReviewScreen #review-progress { width: auto; }
    ReviewScreen #review-counts { width: 1fr; }
    ReviewScreen #review-guide { padding: 1 2; height: auto; }
    ReviewScreen.-guiding #review-head, ReviewScreen.-guiding #review-progress-line, ReviewScreen.-guiding #filter, ReviewScreen.-guiding #summary,
    ReviewScreen.-guiding #table, ReviewScreen.-guiding #detail { display: none; }
    ReviewScreen #review-guide { display: none; }
    ReviewScreen.-guiding #review-guide { display: block; }
    """
    # What needs a queue on screen (a reviewer in a campaign); hidden from the footer until then.
    NEEDS_QUEUE = frozenset({"decide", "exception", "undo", "note", "mark", "mark_all", "group", "filter",
                             "approvals", "approve"})
    NEEDS_CAMPAIGN = frozenset({"export", "close_campaign"})
    ACTIONS = (
        Action("review.certify", "c", "decide('certify')", "Certify", "review",
               "Certify the item (or every selected item): the access is still needed", show=True),
        Action("review.revoke", "v", "decide('revoke')", "Revoke", "review",
               "Revoke the item (or the selected items): it leaves as a ticket and is followed up", show=True),
        Action("review.defer", "d", "decide('defer')", "Defer", "review",
               "Come back to it later in this campaign", show=True),
        Action("review.exception", "e", "exception", "Except", "review",
               "Accept the access until a date, for a reason; counts once a second person approves", show=True),
        Action("review.undo", "u", "undo", "Undo", "review", "Undo your last decision (a whole bulk one)", show=True),
        Action("review.note", "n", "note", "Note…", "review", "Add a note to the item"),
        Action("review.mark", "space", "mark", "Select", "review", "Select or unselect the item for a bulk decision",
               show=True, key_display="␣"),
        Action("review.mark_all", "asterisk", "mark_all", "All", "review",
               "Select every item the filter shows (again: clear the selection)", show=True, key_display="*"),
        Action("review.group", "g", "group", "Group by person/resource", "review",
               "Group the queue by person or by resource"),
        Action("review.filter", "f", "filter", "Filter", "review",
               "Filter: words, key:value (contains) or key=value (is): person, app, system, resource, state, "
               "team, rule, conflict, new, unchanged, … (docs/review.md)"),
        Action("review.approvals", "w", "approvals", "Exceptions to approve", "review",
               "Switch between your queue and the exceptions awaiting your approval"),
        Action("review.approve", "y", "approve", "Approve exception", "review",
               "Approve the selected item's exception: you are the second pair of eyes"),
        Action("review.export", "x", "export", "Export", "review",
               "Export the campaign's revocation tickets or its evidence report, with a preview", show=True),
        Action("review.new", "ctrl+n", "new_campaign", "New campaign…", "review", "Create a campaign"),
        Action("review.close", "ctrl+x", "close_campaign", "Close campaign…", "review",
               "Close the campaign (unresolved items follow its close policy)"),
        Action("review.who", "i", "who", "Review as…", "review", "Say who you are (a person's email)"),
        Action("review.close_filter", "escape", "close_filter", "Leave filter", "review",
               "Back to the table; the filter stays"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.queue: Queue | None = None
        self.by = "person"
        self.marked: set[str] = set()
        self.approvals = False
        self._filter_fields: dict[Any, Any] = {}  # each item's filterable fields, kept across keystrokes
        self._grouping: str | None = None  # the grouping a worker is making rows for

    # ------------------------------------------------------------ layout

    def compose_body(self) -> ComposeResult:
        yield Static(id="review-head", classes="summary")
        yield Static(id="review-guide")
        with Horizontal(id="review-progress-line"):
            yield Static(id="review-progress")
            yield Static(id="review-counts")
        yield FilterBox(placeholder="filter: words, person:…, app:…, state:pending, conflict:yes, new:yes, rule:…",
                        id="filter")
        yield SummaryLine(id="summary", classes="summary")
        yield RecordTable(BY_PERSON, empty_text="Nothing to review here.", id="table")
        with VerticalScroll(id="detail", classes="detail"):
            yield Static(Text("Select an item to read its grant, path and history.", style="italic"),
                         id="detail-body")

    @property
    def table(self) -> RecordTable:
        return self.query_one("#table", RecordTable)

    @property
    def reviewer(self) -> str:
        return getattr(self.app, "reviewer", "") or ""

    def on_mount(self) -> None:
        self.table.summarise = _pending  # counted with each view: in the filter's worker for a long queue
        self.table.sort_by("person")
        self.table.focus()
        if not self.reviewer and os.environ.get(REVIEWER_ENV):
            self.app.reviewer = os.environ[REVIEWER_ENV].strip().lower()  # type: ignore[attr-defined]
        self.set_class(True, "-guiding")  # until a queue is on screen, the guide says what to do first
        self.reload()

    # ------------------------------------------------------------ what works now

    @property
    def guiding(self) -> bool:
        """No queue to work on yet: nobody said who they are, or there is no campaign to review."""
        return self.queue is None or self.queue.campaign is None or not self.reviewer

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that would do nothing now are neither shown nor run (the guide says what comes first)."""
        if action in self.NEEDS_QUEUE and self.guiding:
            return False
        if action in self.NEEDS_CAMPAIGN and (self.queue is None or self.queue.campaign is None):
            return False
        if action == "approve" and not self.approvals:
            return False
        return True

    @property
    def active_bindings(self) -> dict[str, Any]:
        """While guiding, the footer offers the first steps: say who you are, create a campaign;
        then the keys that decide."""
        found = super().active_bindings
        if self.guiding:
            first = ("who", "new_campaign")
            return {key: active._replace(binding=replace(active.binding, show=True))
                    if active.binding.action in first else active for key, active in found.items()}
        # the deciding keys need the room: search stays on / (and in the help), not in this footer
        return {key: active._replace(binding=replace(active.binding, show=False))
                if active.binding.action == "search" else active for key, active in found.items()}

    def _show_guide(self) -> None:
        guiding = self.guiding
        self.set_class(guiding, "-guiding")
        if guiding:
            self.query_one("#review-guide", Static).update(guide_renderable(self.queue, self.reviewer))
        elif self.table.has_focus is False and self.focused is None:
            self.table.focus()
        self.refresh_bindings()

    # ------------------------------------------------------------ loading

    def reload(self) -> None:
        self.query_one("#review-head", Static).update(Text("Loading the review queue…", style="italic"))
        self.load(self.reviewer, getattr(self.app, "review_campaign_id", None), self.approvals, self.by)

    def on_screen_resume(self) -> None:
        self.refresh_bindings()

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-queue",
          description="load the review queue")
    def load(self, reviewer: str, campaign_id: int | None, approvals: bool, by: str) -> None:
        queue = load_queue(self.app.workspace, reviewer, campaign_id, approvals=approvals)  # type: ignore[attr-defined]
        rows = queue_rows(queue, by=by, marked=self.marked)
        if not get_current_worker().is_cancelled:
            self.post_message(QueueLoaded(queue, rows))

    def on_queue_loaded(self, message: QueueLoaded) -> None:
        self.queue = queue = message.queue
        if queue.campaign is not None:
            self.app.review_campaign_id = queue.campaign.id  # type: ignore[attr-defined]
        self.marked &= {r.key for r in message.rows}
        row_filter = self._queue_filter()
        if row_filter.empty:  # nothing to filter: the rows are sorted once, here, not again in a worker
            self.table.row_filter = row_filter
            self.table.set_rows(message.rows)
        else:
            self.table.set_rows(message.rows)
            self.table.filter_later(lambda: row_filter)
        self.show_head()
        self._show_guide()

    def show_head(self) -> None:
        queue = self.queue
        head = Text()
        if queue is None:
            return
        if queue.undecided:  # several open and none named: which one is the reviewer's to say
            head.append(f"{len(queue.open_campaigns)} campaigns are open: ", style="bold")
            head.append(safe_text(", ".join(f"#{c.id} {c.name}" for c in queue.open_campaigns), limit=120))
            self.query_one("#review-head", Static).update(head)
            return
        if queue.campaign is None:
            head.append("No open campaign", style="bold")
            self.query_one("#review-head", Static).update(head)
            return
        c = queue.campaign
        head.append(f"Campaign {c.id} ", style="bold")
        head.append(safe_text(c.name, limit=60), style="bold")
        head.append(f" · snapshot {c.snapshot_id} · due {c.due.isoformat()}")
        if c.overdue():
            head.append(" OVERDUE", style="bold red")
        if not c.is_open:
            head.append(" · closed", style="bold")
        head.append(" · reviewing as ")
        head.append(safe_text(queue.reviewer or "nobody yet (press i)"), style="bold")
        if queue.approvals:
            head.append(" · exceptions awaiting your approval (w: back to your queue)", style="yellow")
        if len(queue.open_campaigns) > 1:
            head.append(f" · {len(queue.open_campaigns)} open campaigns (ctrl+p: review: open …)", style="dim")
        self.query_one("#review-head", Static).update(head)
        self.show_progress()

    def show_progress(self) -> None:
        queue = self.queue
        if queue is None or queue.progress is None:
            return
        p = queue.progress
        self.query_one("#review-progress", Static).update(progress_bar(p.done, p.total, width=24, counts=False))
        counts = Text(f" {p.done}/{p.total} done · ")
        counts.append(f"{p.certified} certified", style="green")
        counts.append(", ")
        counts.append(f"{p.revoked} revoked", style="red")
        counts.append(f", {p.excepted} excepted, {p.pending} pending, {p.deferred} deferred")
        if p.exception_waiting:
            counts.append(f", {p.exception_waiting} awaiting a second approver", style="yellow")
        self.query_one("#review-counts", Static).update(counts)

    def update_summary(self) -> None:
        table = self.table
        text = Text()
        text.append(f"{table.row_count}", style="bold")
        noun = "items" if len(table.rows) != 1 else "item"
        if table.row_filter is not None and not table.row_filter.empty:
            text.append(f" of {len(table.rows)} {noun} match ")
            text.append(safe_text(table.row_filter.text, limit=60), style="bold")
        else:
            text.append(f" {noun} in {'this list' if self.approvals else 'your queue'}")
        pending = table.view_summary if table.view_summary is not None else _pending(table.rows, table.view)
        text.append(f" · {pending} pending")
        if self.marked:
            text.append(f" · {len(self.marked)} selected (c/v/d decide them all)", style="bold cyan")
        text.append(f" · grouped by {self.by}", style="dim")
        self.query_one("#summary", SummaryLine).show(text)

    # ------------------------------------------------------------ detail

    @on(RecordTable.Highlighted, "#table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        if event.row is None:
            self.query_one("#detail-body", Static).update(Text(""))
            return
        self.explain(event.row.key, event.row.data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-detail",
          description="explain a review item")
    def explain(self, key: str, item: review.Item) -> None:
        renderable = item_detail(self.app.workspace, item)  # type: ignore[attr-defined]
        if not get_current_worker().is_cancelled:
            self.post_message(ItemDetailReady(key, renderable))

    def on_item_detail_ready(self, message: ItemDetailReady) -> None:
        if message.key == self.table.current_key:
            self.query_one("#detail-body", Static).update(message.renderable)
            self.query_one("#detail", VerticalScroll).scroll_home(animate=False)

    # ------------------------------------------------------------ deciding

    def _targets(self) -> list[review.Item]:
        """The selected items, else the one under the cursor."""
        if self.marked:
            by_key = {r.key: r.data for r in self.table.rows}
            return [by_key[k] for k in sorted(self.marked, key=int) if k in by_key]
        row = self.table.current
        return [row.data] if row is not None else []

    def _ready(self) -> bool:
        if self.queue is None or self.queue.campaign is None or not self.reviewer:
            self.app.bell()
            return False
        return True

    def action_decide(self, decision: str, reason: str = "", expires: date | None = None) -> None:
        if not self._ready():
            return
        targets = self._targets()
        if not targets:
            self.app.bell()
            return
        if len(targets) == 1:
            single = not self.marked
            self.run_decisions(targets, decision, reason, expires)
            if single:  # on to the next item at once: a quick review is a run of keys (a refusal comes back)
                self.table.action_cursor(1)
            return
        message = bulk_message(decision, targets, self.reviewer)

        def confirmed(answer: bool | None) -> None:
            if answer:
                self.run_decisions(targets, decision, reason, expires)

        self.app.push_screen(ConfirmScreen(f"{decision.capitalize()} {len(targets)} items", message), confirmed)

    def action_exception(self) -> None:
        if not self._ready():
            return
        targets = self._targets()
        if not targets or self.queue is None or self.queue.campaign is None:
            self.app.bell()
            return
        label = targets[0].label if len(targets) == 1 else f"{len(targets)} selected items"
        single = len(targets) == 1 and not self.marked

        def submit(reason: str, expires: date) -> ItemsChanged:
            """Runs in the dialog's worker: a refusal keeps the dialog open with what was typed."""
            return self._record(targets, "exception", reason, expires, advance=single)

        def done(changed: ItemsChanged | None) -> None:
            if changed is not None:
                self.post_message(changed)

        self.app.push_screen(ExceptionScreen(label, max_days=self.queue.campaign.policy.exception_max_days,
                                             submit=submit), done)

    @work(thread=True, exclusive=False, exit_on_error=False, group="review-decide", description="record decisions")
    def run_decisions(self, targets: list[review.Item], decision: str, reason: str, expires: date | None) -> None:
        try:
            self.post_message(self._record(targets, decision, reason, expires))
        except FoureyesError as error:
            self.post_message(Refused(str(error), key=str(targets[0].id)))

    def _record(self, targets: list[review.Item], decision: str, reason: str, expires: date | None, *,
                advance: bool = False) -> ItemsChanged:
        """Decide (in a worker): one item is refused with a `FoureyesError`, a bulk decision counts
        what it refused."""
        workspace = self.app.workspace  # type: ignore[attr-defined]
        notices: list[tuple[str, str]] = []
        if len(targets) == 1:
            item = targets[0]
            outcome = workspace.decide(item.id, decision, actor=self.reviewer, reason=reason, expires=expires,
                                       expect_version=item.version)
            notices += [("warning", w) for w in outcome.warnings]
            if outcome.exception is not None:
                notices.append(("information", f"Exception {outcome.exception.id} requested: it counts once "
                                               "a second person approves it."))
        else:
            bulk = workspace.decide_many([t.id for t in targets], decision, actor=self.reviewer, reason=reason,
                                         expires=expires)
            notices.append(("information", f"{decision}: {bulk.summary()}"))
            notices += [("warning", w) for w in dict.fromkeys(bulk.warnings)]
            notices += [("error", f"item {i}: {why}") for i, why in bulk.refused[:5]]
        return self._changed([t.id for t in targets], notices, advance=advance)

    def _changed(self, item_ids: Iterable[int], notices: list[tuple[str, str]], *,
                 advance: bool = False) -> ItemsChanged:
        workspace = self.app.workspace  # type: ignore[attr-defined]
        campaign_id = self.queue.campaign.id if self.queue and self.queue.campaign else 0
        pending = {e.item_id: e for e in workspace.exceptions(campaign_id=campaign_id, status=review.EX_PENDING)}
        return ItemsChanged([workspace.item(i) for i in item_ids], workspace.progress(campaign_id),
                            pending, notices, advance)

    def on_items_changed(self, message: ItemsChanged) -> None:
        if self.queue is None:
            return
        self.queue.progress = message.progress
        self.queue.waiting = message.waiting
        changed = {str(i.id): i for i in message.items}
        was_marked = bool(self.marked & set(changed))
        self.marked -= set(changed)
        rows = [item_row(changed[r.key], message.waiting, by=self.by, marked=r.key in self.marked)
                if r.key in changed else r for r in self.table.rows]
        current = self.table.current_key
        self.table.set_rows(rows, keep=current)
        if was_marked:  # the selection marks went with the decision
            self._redraw_marks()
        if message.advance:
            self.table.action_cursor(1)
        elif current is not None:
            row = self.table.current
            if row is not None:
                self.explain(row.key, row.data)
        self.show_progress()
        self.update_summary()
        if self.queue.campaign is not None:  # the Overview's campaign panel redraws
            self.app.campaigns_changed.publish(self.queue.campaign.id)  # type: ignore[attr-defined]
        for severity, text in message.notices:
            self.notify(safe_text(text), severity=severity, markup=False,  # type: ignore[arg-type]
                        timeout=6 if severity != "information" else 3)

    def on_refused(self, message: Refused) -> None:
        self.notify(safe_text(message.text), title="Refused", severity="error", markup=False, timeout=8)
        if message.key is not None:  # not decided: back to it
            self.table.select_key(message.key)
        if "changed since you loaded it" in message.text:
            self.reload()

    def action_undo(self) -> None:
        if not self._ready():
            return
        self.run_undo()

    @work(thread=True, exclusive=False, exit_on_error=False, group="review-decide", description="undo")
    def run_undo(self) -> None:
        assert self.queue is not None and self.queue.campaign is not None
        try:
            outcomes = self.app.workspace.undo_last(self.queue.campaign.id, actor=self.reviewer)  # type: ignore[attr-defined]
        except FoureyesError as error:
            self.post_message(Refused(str(error)))
            return
        kind = outcomes[0].decision.decision if outcomes[0].decision else ""
        text = f"Undone: {_count(len(outcomes), 'decision')}" + (f" ({kind})" if kind else "")
        self.post_message(self._changed([o.item.id for o in outcomes], [("information", text)]))

    def action_note(self) -> None:
        row = self.table.current
        if row is None or not self._ready():
            return
        item: review.Item = row.data

        def written(text: str | None) -> None:
            if text:
                self.run_note(item.id, text)

        self.app.push_screen(TextScreen("Note", safe_text(item.label), placeholder="a note for this item"), written)

    @work(thread=True, exclusive=False, exit_on_error=False, group="review-decide", description="add a note")
    def run_note(self, item_id: int, text: str) -> None:
        try:
            self.app.workspace.add_note(item_id, text, actor=self.reviewer)  # type: ignore[attr-defined]
        except FoureyesError as error:
            self.post_message(Refused(str(error)))
            return
        self.post_message(self._changed([item_id], [("information", "Note added")]))

    def action_approve(self) -> None:
        row = self.table.current
        if row is None or not self._ready() or self.queue is None:
            return
        request = self.queue.waiting.get(row.data.id)
        if request is None:
            self.notify("This item has no exception awaiting approval.", markup=False, timeout=4)
            return
        self.run_approve(request.id, row.data.id)

    @work(thread=True, exclusive=False, exit_on_error=False, group="review-decide", description="approve")
    def run_approve(self, exception_id: int, item_id: int) -> None:
        try:
            outcome = self.app.workspace.approve_exception(exception_id, actor=self.reviewer)  # type: ignore[attr-defined]
        except FoureyesError as error:
            self.post_message(Refused(str(error)))
            return
        notices = [("information", f"Exception {exception_id} approved: it counts until "
                                   f"{outcome.exception.expires.isoformat() if outcome.exception else '?'}")]
        notices += [("warning", w) for w in outcome.warnings]
        self.post_message(self._changed([item_id], notices))

    # ------------------------------------------------------------ selection, grouping, filter

    def action_mark(self) -> None:
        row = self.table.current
        if row is None:
            return
        if row.key in self.marked:
            self.marked.discard(row.key)
        else:
            self.marked.add(row.key)
        self._redraw_marks([row])
        self.table.action_cursor(1)

    def action_mark_all(self) -> None:
        shown = {r.key for r in self.table.visible_rows}
        before = self.marked
        self.marked = set() if shown and shown <= self.marked else shown
        changed = before ^ self.marked
        self._redraw_marks([r for r in self.table.rows if r.key in changed])

    def _redraw_marks(self, changed: Sequence[Row] | None = None) -> None:
        """Redraw the rows whose mark changed (a mark is neither filtered nor sorted on), or with
        ``changed`` None every row (the grouping changed)."""
        if self.queue is None:
            return
        cache = CellCache()
        if changed is not None:
            self.table.replace_rows(item_row(r.data, self.queue.waiting, by=self.by, marked=r.key in self.marked,
                                             cache=cache) for r in changed)
        else:
            with gc_paused(keep=True):
                rows = [item_row(r.data, self.queue.waiting, by=self.by, marked=r.key in self.marked, cache=cache)
                        for r in self.table.rows]
            self.table.set_rows(rows, keep=self.table.current_key)
        self.update_summary()

    def action_group(self) -> None:
        """The other grouping; a long queue's rows are made in a worker (all of them change)."""
        by = "resource" if (self._grouping or self.by) == "person" else "person"
        if self.queue is None or len(self.table.rows) < self.table.BACKGROUND_FROM:
            self._grouping = None
            self._regroup(by, None)
            return
        self._grouping = by
        self.regroup(by, self.table.rows, self.queue.waiting)

    @work(thread=True, exclusive=True, exit_on_error=False, group="review-group",
          description="group the review queue")
    def regroup(self, by: str, rows: list[Row], waiting: dict[int, review.ExceptionRequest]) -> None:
        cache = CellCache()
        marked = set(self.marked)
        with gc_paused(keep=True):
            regrouped = [item_row(r.data, waiting, by=by, marked=r.key in marked, cache=cache) for r in rows]
        if not get_current_worker().is_cancelled:
            self.post_message(Regrouped(by, rows, regrouped))

    def on_regrouped(self, message: Regrouped) -> None:
        if message.by != self._grouping:
            return  # pressed again meanwhile: a newer worker has it
        self._grouping = None
        if message.rows is not self.table.rows:  # other rows since (reloaded, decided): made again here
            self._regroup(message.by, None)
            return
        self._regroup(message.by, message.regrouped)

    def _regroup(self, by: str, rows: list[Row] | None) -> None:
        self.by = by
        self.table.set_columns(BY_RESOURCE if by == "resource" else BY_PERSON)
        self.table.sort_column = by
        if rows is None:
            self._redraw_marks()
            return
        self.table.set_rows(rows, keep=self.table.current_key)
        stale = [r for r in rows if (r.cells[0] == "●") != (r.key in self.marked)]  # marked meanwhile
        self._redraw_marks(stale)

    def _awaiting(self, item_id: int) -> bool:
        return self.queue is not None and item_id in self.queue.waiting

    def apply_filter(self) -> None:
        """Filter the queue; a long one in a worker (`RecordTable.filter_later`), the summary
        following when the rows show."""
        row_filter = self._queue_filter()
        self.table.filter_later(lambda: row_filter)

    def _queue_filter(self) -> QueueFilter:
        return QueueFilter.parse(self.query_one("#filter", FilterBox).value, self._awaiting, self._filter_fields)

    @on(RecordTable.ViewChanged, "#table")
    def _view_changed(self, event: RecordTable.ViewChanged) -> None:
        self.update_summary()

    @on(Input.Changed, "#filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.apply_filter()

    @on(Input.Submitted, "#filter")
    def _filter_submitted(self, event: Input.Submitted) -> None:
        self.table.focus()

    def action_approvals(self) -> None:
        self.approvals = not self.approvals
        self.marked.clear()
        self._clear_filter()  # another list: the filter was for the one before
        self.reload()

    def _clear_filter(self) -> None:
        box = self.query_one("#filter", FilterBox)
        box.value = ""
        box.remove_class("-shown")
        self.table.set_filter(None)
        self.table.focus()

    # ------------------------------------------------------------ who, campaigns

    def action_who(self) -> None:
        def chosen(who: str | None) -> None:
            if who:
                self.app.reviewer = who.strip().lower()  # type: ignore[attr-defined]
                self.marked.clear()
                self._clear_filter()
                self.reload()

        self.app.push_screen(TextScreen("Review as", "Your email, as your accounts are linked "
                                                     "(decisions are recorded under it).",
                                        value=self.reviewer, placeholder="name@example.com"), chosen)

    def open_campaign(self, campaign_id: int) -> None:
        self.app.review_campaign_id = campaign_id  # type: ignore[attr-defined]
        self.marked.clear()
        self.reload()

    def action_new_campaign(self) -> None:
        from .campaign_new import NewCampaignScreen  # a dialog's module loads when it first opens (startup)

        def created(campaign_id: int | None) -> None:
            if campaign_id is not None:
                self.notify(f"Campaign {campaign_id} created.", markup=False, timeout=4)
                self.open_campaign(campaign_id)
                self.app.campaigns_changed.publish(campaign_id)  # type: ignore[attr-defined]

        self.app.push_screen(NewCampaignScreen(), created)

    def action_export(self) -> None:
        if self.queue is None or self.queue.campaign is None:
            self.app.bell()
            return
        from .export import ExportScreen  # a dialog's module loads when it first opens (startup)

        def saved(path: str | None) -> None:
            if path:
                self.notify(f"Saved {safe_text(path)}", markup=False, timeout=6)

        self.app.push_screen(ExportScreen(self.queue.campaign), saved)

    def action_close_campaign(self) -> None:
        if self.queue is None or self.queue.campaign is None or self.queue.progress is None:
            self.app.bell()
            return
        campaign = self.queue.campaign
        unresolved = self.queue.progress.unresolved

        def reason_given(reason: str | None) -> None:
            if reason is not None:
                self.run_close(campaign.id, reason, bool(unresolved))

        self.app.push_screen(CloseScreen(campaign.name, unresolved, campaign.policy.close_policy), reason_given)

    @work(thread=True, exclusive=False, exit_on_error=False, group="review-decide", description="close a campaign")
    def run_close(self, campaign_id: int, reason: str, force: bool) -> None:
        try:
            closed, decided = self.app.workspace.close_campaign(  # type: ignore[attr-defined]
                campaign_id, actor=self.reviewer or "unknown", force=force, reason=reason)
        except FoureyesError as error:
            self.post_message(Refused(str(error)))
            return
        self.post_message(CampaignClosed(closed.id, len(decided), closed.policy.close_policy))

    def on_campaign_closed(self, message: "CampaignClosed") -> None:
        outcome = "became revoke" if message.policy == "revoke" else "were skipped"
        extra = f"; {_count(message.decided, 'unresolved item')} {outcome} (the close policy)" if message.decided else ""
        self.notify(f"Campaign {message.campaign_id} closed{extra}.", markup=False, timeout=5)
        self.app.campaigns_changed.publish(message.campaign_id)  # type: ignore[attr-defined]
        self.reload()

    def commands(self) -> Iterable[Command]:
        queue = self.queue
        for campaign in (queue.open_campaigns if queue else []):
            yield (f"review: open campaign {campaign.id} {safe_text(campaign.name, limit=50)}",
                   _bind(self.open_campaign, campaign.id), f"due {campaign.due.isoformat()}")
        for text, label in (("state:pending", "only pending"), ("conflict:yes", "only items in a conflict"),
                            ("new:yes", "only new grants"), ("unchanged:yes", "only unchanged since certified")):
            yield (f"review: {label}", _bind(self.set_filter_text, text), f"Filter {text}")


@dataclass
class CampaignClosed(Message):
    campaign_id: int
    decided: int
    policy: str


def _pending(rows: Sequence[Row], view: list[int]) -> int:
    """How many items in view are still pending (the summary line says so)."""
    return [rows[i].data.state for i in view].count(review.PENDING)


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def _bind(function: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    return lambda: function(*args)


def bulk_message(decision: str, targets: Sequence[Any], reviewer: str) -> str:
    """The bulk confirmation: how many items are decided, and how many decided already are left
    alone (a bulk decision never overwrites one; the CLI's --overwrite does)."""
    decided = sum(1 for t in targets if t.state != review.PENDING)
    left = f" {decided} decided already {'is' if decided == 1 else 'are'} skipped (not overwritten)." if decided else ""
    return (f"{decision} {len(targets) - decided} items as {reviewer}?{left} Each is committed on its own; "
            "`u` undoes the whole batch.")
