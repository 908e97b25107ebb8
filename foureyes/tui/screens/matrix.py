"""Matrix: people × capabilities for a tier, readable at a glance; conflicts stand out.

Cells count the resources a person holds the capability on. Tier and app recompute the
core matrix (`Workspace.matrix`) in a worker. A team only narrows whose rows show
(`Workspace.team_members`), so it, "conflicts only" and the name filter apply in memory.
"""

from __future__ import annotations

import heapq

import re
from dataclasses import replace
from functools import partial
from typing import Iterable

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Checkbox, Label, Select, Static

from ...model import CAPABILITIES, CAPABILITY_MEANING
from ...textsafe import safe_text
from ...workspace import Workspace
from ..actions import Action
from ..rows import Row, RowFilter, parse_filter
from ..state import CAPABILITY_STYLE, MATRIX_COLUMNS, MATRIX_FIELDS, Triage, matrix_table_rows
from ..widgets.inputs import FilterBox
from ..widgets.table import RecordTable
from .base import Command
from .tabular import SummaryLine, TableScreen

_PALETTE_NAME = re.compile(r"^[\w.\-/ ]{1,60}$")
RESOURCES_LISTED = 6


class MatrixScreen(TableScreen):
    DESTINATION = "matrix"
    COLUMNS = MATRIX_COLUMNS
    FIELDS = MATRIX_FIELDS
    NOUN = "people"
    NOUN_ONE = "person"
    EMPTY = "Nobody holds a capability in this tier, team and app."
    FILTER_HINT = "filter people: words, name:…, person:…"
    ACTIONS = (
        Action("matrix.open", "enter", "open", "Open", "matrix", "Open the selected person", show=True),
        Action("matrix.filter", "f", "filter", "Filter", "matrix", "Filter people by name or key", show=True),
        Action("matrix.conflicts", "c", "toggle_conflicts", "Conflicts only", "matrix",
               "Only people with a separation-of-duties conflict (again: everyone)", show=True),
        Action("matrix.tier", "t", "next_tier", "Next tier", "matrix", "Show the capabilities of the next tier",
               show=True),
        Action("matrix.sort", "o", "sort", "Sort by next column", "matrix", "Cycle the sort column"),
        Action("matrix.close_filter", "escape", "close_filter", "Leave filter", "matrix",
               "Back to the table; the filter stays"),
    )

    def __init__(self) -> None:
        super().__init__()
        self.tier = "production"
        self.team = ""
        self.app_name = ""
        self.conflicts_only = False
        # rows per (snapshot, tier, app) and members per team: a scope seen before is instant
        self._computed: dict[tuple[int, str, str], list[Row]] = {}
        self._members: dict[tuple[int, str], frozenset[str]] = {}

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="matrix-controls"):
            yield Label("Tier", classes="control-label")
            yield Select([("production", "production")], value="production", allow_blank=False, id="tier",
                         compact=True)
            yield Label("Team", classes="control-label")
            yield Select([], prompt="all teams", id="team", compact=True)
            yield Label("App", classes="control-label")
            yield Select([], prompt="all apps", id="app", compact=True)
            yield Checkbox("Conflicts only (c)", id="conflicts-only", compact=True)
        yield from super().compose_body()

    def compose_detail(self) -> ComposeResult:
        with VerticalScroll(id="detail", classes="detail -short"):
            yield Static(id="detail-body")

    # ------------------------------------------------------------ data

    def show_triage(self, triage: Triage) -> None:
        if self.tier not in triage.tiers:
            self.tier = triage.tiers[0]
        if self.team not in triage.teams:
            self.team = ""
        if self.app_name not in triage.apps:
            self.app_name = ""
        with self.prevent(Select.Changed):  # the controls follow the state; they do not drive it here
            tier = self.query_one("#tier", Select)
            tier.set_options([(Text(safe_text(t)), t) for t in triage.tiers])
            tier.value = self.tier
            self._show_choice("#team", triage.teams, self.team)
            self._show_choice("#app", triage.apps, self.app_name)
        super().show_triage(triage)

    def _show_choice(self, selector: str, options: list[str], value: str) -> None:
        select = self.query_one(selector, Select)
        select.set_options([(Text(safe_text(o)), o) for o in options])
        if value:
            select.value = value
        else:
            select.clear()

    def make_rows(self, triage: Triage) -> list[Row]:
        key = (triage.snapshot_id, self.tier, self.app_name)
        rows = self._computed.get(key)
        if rows is None:
            rows = matrix_table_rows(triage, tier=self.tier, app_name=self.app_name)
            if len(self._computed) > 16 or any(k[0] != key[0] for k in self._computed):
                self._computed.clear()
            self._computed[key] = rows
        return rows

    def _rebuild(self) -> None:
        triage = self.triage
        if triage is None:
            return
        cached = self._computed.get((triage.snapshot_id, self.tier, self.app_name))
        if cached is not None:
            self.table.set_rows(cached)
            self.update_summary()
            return
        self.query_one("#summary", SummaryLine).show(Text("Recomputing the matrix…", style="italic"))
        self.build_rows(triage)

    def summary_extra(self) -> Text:
        in_conflict = self.table.count_visible("conflict", "yes")
        text = Text()
        text.append(f"{in_conflict} in conflict", style="bold red" if in_conflict else "")
        text.append(f" · tier {safe_text(self.tier)}")
        if self.team:
            text.append(f" · team {safe_text(self.team)}")
        if self.app_name:
            text.append(f" · app {safe_text(self.app_name)}")
        text.append(" · ● n = resources", style="dim")
        return text

    def count_text(self) -> Text | None:
        """"38 of 44 people hold a capability": the same people the Overview and People count."""
        if self.triage is None or self.conflicts_only or self.team:
            return None
        text = Text()
        text.append(f"{self.table.row_count}", style="bold")
        text.append(f" of {len(self.triage.analysis.identities.people)} people hold a capability")
        return text

    def filter_for(self, text: str) -> RowFilter:
        row_filter = parse_filter(text + (" conflict:yes" if self.conflicts_only else ""), self.FIELDS)
        return replace(row_filter, keys=self._team_members()) if self.team else row_filter

    def apply_filter(self) -> None:
        """With a team chosen, the filter is made here (a team's members are kept once read) and only
        the members' rows are tested: at once for a team smaller than `RecordTable.BACKGROUND_FROM`,
        so the choice, the rows, the detail pane and the summary are laid out and drawn in one frame
        (a worker's answer came a frame later, with a layout of its own); else in a worker."""
        if not self.team or self.triage is None:
            super().apply_filter()
            return
        self.table.filter_made(self.filter_for(self.query_one("#filter", FilterBox).value))

    def _team_members(self) -> frozenset[str] | None:
        triage = self.triage
        if triage is None or not self.team:
            return None
        key = (triage.snapshot_id, self.team)
        members = self._members.get(key)
        if members is None:
            if any(k[0] != key[0] for k in self._members):
                self._members.clear()
            members = self._members[key] = frozenset(Workspace.team_members(triage.analysis, self.team))
        return members

    # ------------------------------------------------------------ controls

    @on(Select.Changed)
    def _select_changed(self, event: Select.Changed) -> None:
        value = "" if event.select.is_blank() else str(event.value)
        if event.select.id == "tier" and value:
            self.set_scope(tier=value)
        elif event.select.id == "team":
            self.set_scope(team=value)
        elif event.select.id == "app":
            self.set_scope(app_name=value)

    @on(Checkbox.Changed, "#conflicts-only")
    def _conflicts_changed(self, event: Checkbox.Changed) -> None:
        if event.value != self.conflicts_only:
            self.conflicts_only = event.value
            self.apply_filter()

    def action_toggle_conflicts(self) -> None:
        self.query_one("#conflicts-only", Checkbox).value = not self.conflicts_only

    def action_next_tier(self) -> None:
        if self.triage is None:
            return
        tiers = self.triage.tiers
        self.set_scope(tier=tiers[(tiers.index(self.tier) + 1) % len(tiers)] if self.tier in tiers else tiers[0])

    def set_scope(self, *, tier: str | None = None, team: str | None = None, app_name: str | None = None) -> None:
        """Change tier, team or app; the controls above the table follow."""
        rebuild = refilter = False
        with self.prevent(Select.Changed):
            if tier is not None and tier != self.tier:
                self.tier, rebuild = tier, True
                self.query_one("#tier", Select).value = tier
            if team is not None and team != self.team:
                self.team, refilter = team, True
                self._set_select("#team", team)
            if app_name is not None and app_name != self.app_name:
                self.app_name, rebuild = app_name, True
                self._set_select("#app", app_name)
        if rebuild:
            self._rebuild()
        elif refilter:
            self.apply_filter()

    def _set_select(self, selector: str, value: str) -> None:
        select = self.query_one(selector, Select)
        if value:
            select.value = value
        else:
            select.clear()

    # ------------------------------------------------------------ rows

    @on(RecordTable.Highlighted, "#table")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        body = self.query_one("#detail-body", Static)
        if event.row is None or self.triage is None:
            body.update(Text(""))
            return
        entry = event.row.data
        resources = self.triage.analysis.snapshot.resources
        grid = Table.grid(padding=(0, 2))
        grid.add_column(width=22, no_wrap=True)
        grid.add_column(ratio=1)
        for capability in CAPABILITIES:
            keys = entry["capabilities"][capability]
            if not keys:
                continue
            # An owner holds thousands: pick the first few labels, and make only those safe.
            first = heapq.nsmallest(RESOURCES_LISTED, (resources[k].label if k in resources else k for k in keys))
            labels = [safe_text(label) for label in first]
            more = f" … and {len(keys) - RESOURCES_LISTED} more" if len(keys) > RESOURCES_LISTED else ""
            grid.add_row(Text(capability, style=CAPABILITY_STYLE.get(capability, "")),
                         Text(", ".join(labels) + more))
        head = Text(event.row.cells[0], style="bold")
        if entry["conflict"]:
            head.append("  in conflict: 2 Conflicts shows why", style="bold red")
        body.update(Group(head, grid))

    @on(RecordTable.Selected, "#table")
    def _selected(self, event: RecordTable.Selected) -> None:
        self.action_open()

    def action_open(self) -> None:
        row = self.table.current
        if row is None:
            self.app.bell()
            return
        self.app.open_person(row.key)  # type: ignore[attr-defined]

    def commands(self) -> Iterable[Command]:
        triage = self.triage
        if triage is None:
            return
        for tier in triage.tiers:
            if _PALETTE_NAME.match(tier):
                yield (f"matrix: tier {tier}", partial(self.set_scope, tier=tier), "Capabilities of this tier")
        yield ("matrix: all teams", partial(self.set_scope, team=""), "Everyone, whatever their team")
        for team in triage.teams:
            if _PALETTE_NAME.match(team):
                yield (f"matrix: team {team}", partial(self.set_scope, team=team), "Only members of this team")
        yield ("matrix: all apps", partial(self.set_scope, app_name=""), "Capabilities on every app")
        for app in triage.apps:
            if _PALETTE_NAME.match(app):
                yield (f"matrix: app {app}", partial(self.set_scope, app_name=app), "Only capabilities on this app")
        for capability in CAPABILITIES:
            yield (f"matrix: sort by {capability}", partial(self._sort_by, capability),
                   CAPABILITY_MEANING[capability])

    def _sort_by(self, column: str) -> None:
        self.table.sort_by(column)
        self.update_summary()
