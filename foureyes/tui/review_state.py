"""What the review screens show, computed off the UI thread: a reviewer's queue as rows, an
item's detail pane, and the open campaigns. No Textual here: workers and tests call it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .. import review
from ..bulk import gc_paused
from ..errors import NotFound
from ..textsafe import safe_multiline, safe_text
from ..workspace import USE_VIA, Workspace
from .rows import CellCache, Column, Row, make_row
from .state import SEVERITY_STYLE, roster_style, when

STATE_STYLE = {"certify": "green", "revoke": "bold red", "defer": "cyan", "exception": "yellow",
               "skipped": "dim", "pending": ""}
STATE_LABEL = {"certify": "certified", "revoke": "revoked", "defer": "deferred", "exception": "exception",
               "skipped": "skipped", "pending": "pending"}

# Grouped by person: the person first; by resource: the resource first. Sorting by the
# first column keeps each group's rows together.
BY_PERSON = (Column("mark", "", 1, min_width=1, priority=0), Column("person", "Person", min_width=14, priority=0),
             Column("grant", "Grant", min_width=28, priority=0, grow=3),
             Column("app", "App", min_width=6, priority=4, grow=1), Column("used", "Last used", min_width=9, priority=3),
             Column("state", "State", whole=True, priority=1), Column("flags", "Flags", min_width=8, priority=2))
BY_RESOURCE = (Column("mark", "", 1, min_width=1, priority=0),
               Column("resource", "Resource", min_width=20, priority=0, grow=2),
               Column("grant", "Entitlement", min_width=12, priority=0, grow=1),
               Column("person", "Person", min_width=14, priority=0, grow=1),
               Column("used", "Last used", min_width=9, priority=3),
               Column("state", "State", whole=True, priority=1), Column("flags", "Flags", min_width=8, priority=2))
USED_STYLE = {"used": "", "unused": "yellow", "unknown": "dim italic", "": "dim"}


def last_used_cell(item: review.Item) -> str:
    """A date, "none seen", "unknown" or "-" (the system reports no usage for the grant)."""
    usage = item.usage
    if usage.state == "used":
        return (usage.last_used or "")[:10]
    return {"unused": "none seen", "unknown": "unknown"}.get(usage.state, "-")


@dataclass(frozen=True)
class QueueFilter:
    """The filter box over queue rows, in the review's one filter language (`review.ItemFilter`,
    the same as `decide --where`); lenient while typing: an unknown key is looked for as a word.

    ``fields`` caches each item's filterable fields across keystrokes (by id and version)."""

    items: review.ItemFilter
    awaiting: Callable[[int], bool]
    fields: dict[tuple[int, int, bool], Any]

    @classmethod
    def parse(cls, text: str, awaiting: Callable[[int], bool],
              fields: dict[tuple[int, int, bool], Any] | None = None) -> "QueueFilter":
        return cls(review.ItemFilter.parse(text, strict=False), awaiting, {} if fields is None else fields)

    @property
    def text(self) -> str:
        return self.items.text

    @property
    def empty(self) -> bool:
        return not self.items

    def __call__(self, row: Row) -> bool:
        item: review.Item = row.data
        awaiting = self.awaiting(item.id)
        key = (item.id, item.version, awaiting)
        found = self.fields.get(key)
        if found is None:
            found = self.fields[key] = review.item_fields(item, awaiting=awaiting)
        return self.items.matches_fields(found)


@dataclass
class Queue:
    """One reviewer's view of one campaign, loaded in a worker."""

    campaign: review.Campaign | None
    reviewer: str
    items: list[review.Item]
    progress: review.Progress | None
    waiting: dict[int, review.ExceptionRequest] = field(default_factory=dict)  # item id -> pending exception
    open_campaigns: list[review.Campaign] = field(default_factory=list)
    approvals: bool = False  # the queue lists exceptions awaiting this reviewer's approval instead

    @property
    def undecided(self) -> bool:
        """Several campaigns are open and none was named: the reviewer chooses (nothing is guessed)."""
        return self.campaign is None and len(self.open_campaigns) > 1


def load_queue(workspace: Workspace, reviewer: str, campaign_id: int | None, *, approvals: bool = False) -> Queue:
    """The reviewer's queue in the campaign named, else in the one open campaign (the CLI's rule)."""
    opened = workspace.campaigns(status=review.OPEN)
    try:
        campaign = workspace.choose_campaign(campaign_id)
    except (review.SeveralOpen, NotFound):
        if campaign_id is not None:
            raise  # the campaign named does not exist
        return Queue(None, reviewer, [], None, open_campaigns=opened)  # none open, or several: the head says which
    pending = {e.item_id: e for e in workspace.exceptions(campaign_id=campaign.id, status=review.EX_PENDING)}
    if approvals:
        items = [item for _, item in workspace.approvable_by(campaign, reviewer)] if reviewer else []
    else:
        items = workspace.reviewer_queue(campaign, reviewer) if reviewer else []
    return Queue(campaign, reviewer, items, workspace.progress(campaign.id), waiting=pending,
                 open_campaigns=opened, approvals=approvals)


def flags(item: review.Item) -> str:
    out = []
    if item.person_left:
        out.append("LEFT")  # the roster says the person left: certifying this is almost never right
    if item.is_new:
        out.append("NEW")
    if item.conflicts:
        out.append("conflict")
    if item.unchanged_since_certified:
        out.append("unchanged")
    if item.usage.suggestion:  # "revoke: unused for 143 days" in full in the detail pane
        out.append(f"unused {item.usage.idle_days}d")
    return " ".join(out)


def state_text(item: review.Item, waiting: dict[int, review.ExceptionRequest]) -> str:
    if item.state == review.EXCEPTION and item.id in waiting:
        return "exception (awaiting)"
    return STATE_LABEL.get(item.state, item.state)


def item_row(item: review.Item, waiting: dict[int, review.ExceptionRequest], *, by: str = "person",
             marked: bool = False, cache: CellCache | None = None) -> Row:
    """One queue row. The filter box tests the item's own fields (`QueueFilter`), so the row
    carries no `fields` of its own; ``cache`` (one per batch of rows) neutralises each distinct
    text once."""
    person = item.person_name or item.person
    state = state_text(item, waiting)
    used = last_used_cell(item)
    idle = -(item.usage.idle_days or 0)  # sorted ascending: the longest unused first
    flagged = flags(item)
    left = "bold red" if item.person_left else ""
    if by == "person":
        values = ["●" if marked else " ", person, item.label, item.app, used, state, flagged]
        sort = ["", item.person.lower(), (item.resource, item.entitlement), item.app, idle, state, flagged]
        person_style, resource_style = left, ""
    else:
        resource = item.resource_name or item.resource
        values = ["●" if marked else " ", resource, item.entitlement, person, used, state, flagged]
        sort = ["", resource.lower(), item.entitlement, item.person.lower(), idle, state, flagged]
        person_style, resource_style = "", left
    styles = ["bold cyan" if marked else "", person_style, "", resource_style,
              USED_STYLE.get(item.usage.state, ""), STATE_STYLE.get(item.state, ""),
              left or ("bold yellow" if item.is_new else "")]
    return make_row(str(item.id), values, sort=sort, data=item, cell_styles=styles,
                    style="bold" if item.conflicts and item.state == review.PENDING else "",
                    cache=cache if cache is not None else CellCache())


def queue_rows(queue: Queue, *, by: str = "person", marked: set[str] | None = None) -> list[Row]:
    """Every item's row (in a worker): each distinct text neutralised once, and no collection
    walking the heap while hundreds of thousands of rows are made (they live on in the table)."""
    marked = marked or set()
    cache = CellCache()
    with gc_paused(keep=True):
        return [item_row(i, queue.waiting, by=by, marked=str(i.id) in marked, cache=cache) for i in queue.items]


# ---------------------------------------------------------------- the detail pane


def _label(text: str, width: int = 13) -> Text:
    return Text(text.ljust(width), style="bold")


def item_detail(workspace: Workspace, item: review.Item) -> RenderableType:
    """Everything a reviewer needs to decide one item. Runs in a worker (reads the store)."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(no_wrap=True)
    grid.add_column()

    def row(name: str, value: Text | str, style: str = "") -> None:
        grid.add_row(_label(name), value if isinstance(value, Text) else Text(safe_text(value), style=style))

    use = item.via == USE_VIA  # scope "emergency": the item is one use of a break-glass path
    grant = Text(safe_text(item.label), style="bold")
    grant.append(f"  ({safe_text(item.system)} · via {safe_text(item.via)}", style="dim")
    if item.detail and not use:
        grant.append(f" · {safe_text(item.detail)}", style="dim")
    grant.append(")", style="dim")
    row("Use" if use else "Grant", grant)
    if item.person_status:
        who = Text(safe_text(item.person_status), style=roster_style(item.person_status))
        who.append(f" · manager {safe_text(item.person_manager or '-')} · department "
                   f"{safe_text(item.person_department or '-')}", style="dim")
        row("Roster", who)
    path = Text()
    for n, step in enumerate(item.path):
        if n:
            path.append("\n" if use else "\n  → ", style="dim")
        path.append(safe_text(step), style="red" if use and step.startswith("problem:") else "")
    row("Evidence" if use else "Path", path if item.path else Text("(no path recorded)", style="italic"))
    caps = Text(", ".join(item.capabilities))
    caps.append(f"   tier {safe_text(item.tier or '-')} · app {safe_text(item.app or '-')}", style="dim")
    row("Capabilities", caps)
    if use:
        row("Decide", Text("certify: the use was justified · revoke: it was not (a follow-up ticket) · "
                           "the reviewer is never its user", style="dim"))
    elif item.condition:
        row("Condition", item.condition)
    if item.expires:
        row("Expires", item.expires)
    usage = item.usage
    if not use:
        row("Last used", Text(safe_text(usage.describe()), style=USED_STYLE.get(usage.state, "")))
    if usage.suggestion:
        row("Suggestion", Text(safe_text(usage.suggestion), style="bold yellow"))
    if use and item.conflicts:
        found = Text()
        for n, c in enumerate(item.conflicts):
            found.append(("\n" if n else "") + f"{c.rule} {c.severity} ", style=SEVERITY_STYLE.get(c.severity, ""))
            found.append(safe_text(c.title))
        row("Findings", found)
    elif use:
        row("Findings", Text("none: ticket, duration and person as declared", style="green"))
    elif item.conflicts:
        conflicts = Text()
        for n, c in enumerate(item.conflicts):
            if n:
                conflicts.append("\n")
            conflicts.append(f"{c.rule} ", style=SEVERITY_STYLE.get(c.severity, ""))
            conflicts.append(f"{c.severity} ", style=SEVERITY_STYLE.get(c.severity, ""))
            conflicts.append(safe_text(f"{c.title} ({c.scope})"))
        row("Conflicts", conflicts)
    else:
        row("Conflicts", Text("none", style="dim"))
    others = item.holders
    if not use:
        row("Others", f"{others} other {'person holds' if others == 1 else 'people hold'} the same grant")
    if item.previous is not None:
        row("Previous", Text(safe_text(item.previous.describe()),
                             style="green" if item.unchanged_since_certified else "yellow"))
    else:
        row("Previous", Text("not in an earlier campaign", style="dim"))
    if item.is_new:
        row("Drift", Text("NEW since the baseline snapshot", style="bold yellow"))
    row("Reviewer", f"{item.reviewer or '(unassigned)'} — {item.reviewer_rule}")
    decisions = workspace.decisions(item_id=item.id, include_undone=False)
    current = next((d for d in reversed(decisions) if d.id == item.decision_id), None)
    if current is not None:
        text = Text(f"{current.decision} by {safe_text(current.actor)} at {when(current.at)}",
                    style=STATE_STYLE.get(current.decision, ""))
        if current.reason:
            text.append(f": {safe_text(current.reason)}")
        if current.reviewer_conflicted:
            text.append("\n⚠ made by a conflicted reviewer: " + safe_text(current.conflict_note), style="bold yellow")
        row("Decision", text)
    exception = workspace.current_exception(item.id)
    if exception is not None:
        text = Text(f"{exception.status}", style="yellow" if exception.status == "pending" else "green")
        if exception.status == "pending":
            text.append(" — awaiting a second approver (neither the requester nor the subject)")
        else:
            text.append(f" by {safe_text(exception.approver or '')} at {when(exception.approved_at or '')}")
        text.append(f"\nuntil {exception.expires.isoformat()} · requested by {safe_text(exception.requested_by)}: "
                    f"{safe_text(exception.reason)}")
        row("Exception", text)
    notes = workspace.notes(item.id)
    if notes:
        text = Text()
        for n, note in enumerate(notes):
            if n:
                text.append("\n")
            text.append(f"{when(note.at)} {safe_text(note.actor)}: ", style="dim")
            text.append(safe_multiline(note.text))
        row("Notes", text)
    return grid


# ---------------------------------------------------------------- the Overview panel


@dataclass
class CampaignsSummary:
    summaries: list[review.CampaignSummary]


def load_campaigns(workspace: Workspace) -> CampaignsSummary:
    workspace.check_revocations()  # the follow-through step: later snapshots may have settled revocations
    return CampaignsSummary(workspace.campaign_summaries(status=review.OPEN))


def progress_bar(done: int, total: int, width: int = 24, *, counts: bool = True) -> Text:
    """A still bar (never an animation): ``done`` of ``total``, and the numbers unless ``counts`` is False."""
    filled = round(width * done / total) if total else width
    bar = Text("█" * filled, style="green")
    bar.append("░" * (width - filled), style="dim")
    if counts:
        bar.append(f" {done}/{total}")
    return bar


# ---------------------------------------------------------------- the first steps


def guide_renderable(queue: Queue | None, reviewer: str) -> RenderableType:
    """What the review tab says before there is a queue to work on: who you are, which campaign,
    then how to decide; each step says what to press, a step that is done says so."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(no_wrap=True)
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(ratio=1)

    def step(n: int, done: bool, title: str, text: Text) -> None:
        grid.add_row(Text("✓" if done else str(n), style="bold green" if done else "bold yellow"), title, text)

    if reviewer:
        who = Text("reviewing as ")
        who.append(safe_text(reviewer), style="bold")
        who.append(" (i: someone else)", style="dim")
    else:
        who = Text("Press ")
        who.append("i", style="bold reverse")
        who.append(" and type your email, as your accounts are linked: decisions are recorded under it "
                   "(or start with `foureyes review --as EMAIL`).")
    step(1, bool(reviewer), "Who are you?", who)
    campaign_done = queue is not None and queue.campaign is not None
    if queue is None:
        which = Text("Reading the campaigns…", style="italic")
    elif queue.campaign is not None:
        c = queue.campaign
        which = Text(f"campaign {c.id} ")
        which.append(safe_text(c.name, limit=60), style="bold")
        which.append(f" · due {c.due.isoformat()}", style="dim")
    elif queue.undecided:
        which = Text(f"{len(queue.open_campaigns)} are open: ")
        which.append(safe_text(", ".join(f"#{c.id} {c.name}" for c in queue.open_campaigns), limit=160), style="bold")
        which.append(". Choose one: press ")
        which.append("ctrl+p", style="bold reverse")
        which.append(" and type “review: open campaign” (or start with `foureyes review --campaign ID`).")
    else:
        which = Text("None is open. Press ")
        which.append("ctrl+n", style="bold reverse")
        which.append(" to create one from the snapshot on screen (or run `foureyes campaign new`).")
    step(2, campaign_done, "Which campaign?", which)
    decide = Text("c certify · v revoke · d defer · e exception (a second person approves it) · u undo; "
                  "space selects an item and * everything the filter shows, for one decision on all of them. "
                  "Each decision is saved as it is made.")
    step(3, False, "Decide", decide)
    head = Text("Review: certify or revoke each grant in a recertification campaign, one person at a time.",
                style="bold")
    return Group(head, Text(""), grid)


def campaigns_renderable(summary: CampaignsSummary) -> RenderableType:
    if not summary.summaries:
        return Text("No open campaign. Press 6 for Review, then ctrl+n to create one "
                    "(or `foureyes campaign new`).", style="italic")
    parts: list[Any] = []
    for s in summary.summaries:
        c = s.campaign
        head = Text(f"#{c.id} ", style="bold")
        head.append(safe_text(c.name, limit=60), style="bold")
        head.append(f" · snapshot {c.snapshot_id} · due {c.due.isoformat()}")
        if c.overdue():
            head.append(" OVERDUE", style="bold red")
        line = progress_bar(s.progress.done, s.progress.total)
        line.append(f"  {s.progress.pending} pending, {s.progress.deferred} deferred")
        if s.exceptions_waiting:
            line.append(f", {s.exceptions_waiting} exception{'s' if s.exceptions_waiting != 1 else ''} "
                        "awaiting approval", style="yellow")
        follow = s.follow_through
        revocations = Text("revocations: ")
        revocations.append(f"{follow['pending']} pending", style="yellow" if follow["pending"] else "dim")
        revocations.append(", ")
        revocations.append(f"{follow['verified']} verified", style="green" if follow["verified"] else "dim")
        revocations.append(", ")
        revocations.append(f"{follow['regressed']} regressed", style="bold red" if follow["regressed"] else "dim")
        parts.extend([head, line, revocations])
    return Group(*parts)
