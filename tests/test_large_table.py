"""A large table (`cli/output.py` lays it out itself from `LARGE_TABLE` rows) reads exactly as
Rich draws `print_table`'s table: bold headers over a rule, columns two spaces apart, words
wrapped and long words folded within each width, right-aligned numbers, wide characters counted
as two, a title wider than the table wrapped."""

from __future__ import annotations

import io
import random

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from foureyes.cli import output
from foureyes.tui.rows import Column


def _rich(title, specs, widths, rows, width):
    table = Table(title=Text(title, style="bold"), title_justify="left", show_lines=False, header_style="bold",
                  box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False, collapse_padding=True)
    for spec, w in zip(specs, widths):
        table.add_column(Text(spec.label), width=w, justify=spec.align, no_wrap=spec.whole, overflow="fold")
    for row in rows:
        table.add_row(*row)
    console = Console(file=io.StringIO(), width=width)
    with console.capture() as captured:
        console.print(table)
    return [line.rstrip() for line in captured.get().rstrip("\n").split("\n")]


def test_a_large_table_reads_as_rich_draws_it():
    specs = [Column("person", "person"), Column("resource", "resource", whole=True), Column("n", "grants\nheld", align="right"),
             Column("tier", "tier", align="center"), Column("path", "path")]
    rows = [[Text(f"Person {n} 日本"), Text(f"github:repo:acme/r{n}"), Text(str(n * 7)), Text("prod" if n % 2 else ""),
             Text("person → team web (member of team web) → write on acme/api " * (n % 4) + "x" * (n % 90))]
            for n in range(output.LARGE_TABLE)]
    for width, widths in ((80, [14, 22, 6, 4, 24]), (200, [16, 22, 6, 10, 132])):
        mine = [line.plain.rstrip() for line in output.large_table_lines(
            "who can code.push, a title longer than some tables are wide", specs, widths, rows, styled=False)]
        assert mine == _rich("who can code.push, a title longer than some tables are wide", specs, widths, rows, width)


def test_a_path_wraps_as_its_lines_measured_whole():
    """A path of one-cell characters and single spaces is wrapped at the last space that fits
    (`str.rfind`); the same lines as measuring each candidate line whole, words too long folded."""
    rnd = random.Random(19)
    words = ["→", "team", "web", "(member", "of", "team", "web)", "x" * 30, "policy", "P0-0", "on", "a"]
    for _ in range(3000):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(1, 30)))
        width = rnd.randint(1, 90)
        assert output._wrap(text, width) == output._wrap_measured(text, width), (text, width)


def test_a_repeated_cell_is_the_cell_of_its_value():
    """`cells_of` makes each distinct text or number's cell once: the same cell `cell` makes, with
    True and 1 apart, untrusted text escaped and cut, and a style kept."""
    values = ["web", 1, True, 1, "web", "", 0, False, None, 2.5, "\x1b[31mred", "x" * 200, ("a", 1), "web"]
    for style in (None, "bold"):
        of = output.cells_of(style=style)
        assert [of(v) for v in values] == [output.cell(v, style=style) for v in values]
    of = output.cells_of()
    assert (of(1).plain, of(True).plain, of(1.0).plain) == ("1", "True", "1.0")  # equal keys, other texts
