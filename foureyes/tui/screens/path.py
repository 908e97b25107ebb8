"""Path view: every route behind a capability, drawn hop by hop with each hop's system and kind."""

from __future__ import annotations

from typing import Any, Sequence

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static
from textual.worker import get_current_worker

from ...graph import Holding
from ...textsafe import safe_text
from ..actions import Action
from ..messages import DetailReady
from ..rows import Column, make_row
from ..state import CAPABILITY_STYLE, Triage
from ..widgets.path import routes_view
from ..widgets.table import RecordTable
from .base import DetailScreen

HOLDING_COLUMNS = (
    Column("capability", "Capability", whole=True, priority=0),
    Column("resource", "Resource", min_width=16, priority=0, grow=1),
)
ROUTE_LIMIT = 8


class PathScreen(DetailScreen):
    ACTIONS = (
        DetailScreen.BACK,
        Action("path.person", "p", "open_person", "Person", "path", "Open the person these paths start from",
               show=True),
    )

    def __init__(self, triage: Triage, title: str, holdings: Sequence[Holding], *, finding: Any = None,
                 selected: Holding | None = None) -> None:
        super().__init__(triage)
        self.heading = title
        self.holdings = list(holdings)
        self.finding = finding
        self.selected = selected

    def compose_body(self) -> ComposeResult:
        yield Static(Text(safe_text(self.heading), style="bold"), id="path-title", classes="summary")
        with Horizontal(id="path-split"):
            yield RecordTable(HOLDING_COLUMNS, id="holdings")
            with VerticalScroll(id="routes", classes="detail"):
                yield Static(id="routes-body")

    def on_mount(self) -> None:
        resources = self.triage.analysis.snapshot.resources
        requirement_of = {}
        if self.finding is not None:
            for requirement, holdings in self.finding.evidence:
                for h in holdings:
                    requirement_of.setdefault(h.key, requirement.describe())
        rows = []
        for h in self.holdings:
            resource = resources.get(h.resource)
            rows.append(make_row("|".join(h.key), (h.capability, resource.label if resource else h.resource),
                                 fields={"requirement": requirement_of.get(h.key, "")},
                                 cell_styles=(CAPABILITY_STYLE.get(h.capability, ""),), data=h))
        table = self.query_one("#holdings", RecordTable)
        table.set_rows(rows, keep="|".join(self.selected.key) if self.selected else None)
        table.focus()

    @on(RecordTable.Highlighted, "#holdings")
    def _highlighted(self, event: RecordTable.Highlighted) -> None:
        if event.row is not None:
            self.draw(event.row.key, event.row.data)

    @work(thread=True, exclusive=True, exit_on_error=False, group="routes",
          description="draw the routes of a capability")
    def draw(self, key: str, holding: Holding) -> None:
        analysis = self.triage.analysis
        routes = analysis.graph.paths(holding, limit=ROUTE_LIMIT)
        resource = analysis.snapshot.resources.get(holding.resource)
        where = resource.label if resource else holding.resource
        tier = f" ({holding.tier})" if holding.tier else ""
        heading = f"{holding.capability} on {where}{tier}: {len(routes)} route{'s' if len(routes) != 1 else ''}"
        if len(routes) >= ROUTE_LIMIT:
            heading += f" (the first {ROUTE_LIMIT})"
        renderable = routes_view(routes, heading=heading)
        if not get_current_worker().is_cancelled:
            self.post_message(DetailReady(key, renderable))

    def on_detail_ready(self, message: DetailReady) -> None:
        if message.key == self.query_one("#holdings", RecordTable).current_key:
            self.query_one("#routes-body", Static).update(message.renderable)
            self.query_one("#routes", VerticalScroll).scroll_home(animate=False)

    def action_open_person(self) -> None:
        row = self.query_one("#holdings", RecordTable).current
        if row is None:
            return
        self.app.open_person(row.data.person)  # type: ignore[attr-defined]
