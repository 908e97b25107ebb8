"""A large table (`cli/output.py` lays it out itself from `LARGE_TABLE` rows) looks exactly as Rich
would draw it: heavy head, words wrapped, long words folded, wide characters counted as two."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table
from rich.text import Text

from foureyes.cli import output


def test_a_large_table_is_drawn_as_rich_draws_it():
    rows = [[Text(f"Person {n} 日本"), Text(f"github:repo:acme/r{n}"), Text("production" if n % 2 else ""),
             Text("person → team web (member of team web) → write on acme/api " * (n % 4) + "x" * (n % 90))]
            for n in range(output.LARGE_TABLE)]
    for width in (80, 200):
        mine = io.StringIO()
        output._print_large_table(Console(file=mine, width=width), "who can code.push",
                                  ["person", "resource", "tier", "path"], rows)
        table = Table(title=Text("who can code.push", style="bold"), title_justify="left", header_style="bold")
        for column in ("person", "resource", "tier", "path"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(*row)
        rich = io.StringIO()
        Console(file=rich, width=width).print(table)
        assert [line.rstrip() for line in mine.getvalue().splitlines()] == [
            line.rstrip() for line in rich.getvalue().splitlines()]
