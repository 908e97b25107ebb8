"""Drawing explaining paths: hop by hop with each hop's system and kind, or on one line."""

from __future__ import annotations

from typing import Sequence

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from ...graph import Step
from ...textsafe import safe_text
from ..state import SYSTEM_STYLE, chain


def route_table(steps: Sequence[Step]) -> Table:
    """One route as a column of hops: glyph, system, kind, what the hop reaches and why."""
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1, no_wrap=True)
    grid.add_column(width=8, no_wrap=True)
    grid.add_column(width=11, no_wrap=True)
    grid.add_column(ratio=1)
    last = len(steps) - 1
    for n, step in enumerate(steps):
        glyph = "┌" if n == 0 else ("└" if n == last else "├")
        system = Text(safe_text(step.system), style=SYSTEM_STYLE.get(step.system, ""))
        kind = Text(safe_text(step.kind), style="italic")
        node = Text(safe_text(step.node), style="bold" if n in (0, last) else "")
        grid.add_row(Text(glyph, style="dim"), system, kind, node)
        if step.how:
            grid.add_row(Text(" " if n == last else "│", style="dim"), Text(""), Text(""),
                         Text(safe_text(step.how), style="dim"))
        elif n != last:
            grid.add_row(Text("│", style="dim"), Text(""), Text(""), Text(""))
    return grid


def routes_view(routes: Sequence[Sequence[Step]], *, heading: str = "") -> RenderableType:
    """Every route by which a capability is held, drawn hop by hop, shortest first."""
    parts: list[RenderableType] = []
    if heading:
        parts.append(Text(safe_text(heading), style="bold"))
    total = len(routes)
    for n, steps in enumerate(routes, 1):
        hops = max(len(steps) - 1, 0)
        parts.append(Text(f"Route {n} of {total} · {hops} hops", style="bold underline"))
        parts.append(Text(safe_text(chain(steps)), style="dim italic"))
        parts.append(Text(""))
        parts.append(route_table(steps))
        parts.append(Text(""))
    if not routes:
        parts.append(Text("No path found for this capability.", style="italic"))
    return Group(*parts)
