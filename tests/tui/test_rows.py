"""The rows and the filter language behind every table (no terminal needed)."""

from __future__ import annotations

import pytest

from foureyes.analysis import analyze
from foureyes.connectors.demo import build, demo_config
from foureyes.matrix import matrix_rows
from foureyes.model import CAPABILITIES, Gap, Snapshot, SnapshotInfo, SourceResult
from foureyes.tui.rows import CellCache, make_row, parse_filter
from foureyes.tui.state import (
    CONFLICT_FIELDS,
    Triage,
    conflict_rows,
    gap_rows,
    matrix_table_rows,
    when,
)


@pytest.fixture(scope="module")
def triage() -> Triage:
    config = demo_config()
    snapshot = Snapshot(id=2, taken_at="2026-11-02T08:00:00+00:00", label="after",
                        sources=tuple(build("after", config)))
    info = SnapshotInfo(id=2, taken_at=snapshot.taken_at, label="after", digest="")
    return Triage(info=info, snapshots=[info], analysis=analyze(snapshot, config, waivers=[]), config=config)


def test_filter_words_fields_negation_and_quotes():
    row = make_row("k", ("critical", "FE-SOD-003", "Paul Platt", "app:platform"),
                   fields={"severity": "critical", "rule": "FE-SOD-003", "person": "paul.platt@acme.com"})
    fields = ("severity", "rule", "person")
    assert parse_filter("paul platform", fields)(row)
    assert parse_filter("severity:crit", fields)(row)
    assert not parse_filter("severity:high", fields)(row)
    assert not parse_filter("-rule:FE-SOD-003", fields)(row)
    assert parse_filter('"paul platt"', fields)(row)
    assert not parse_filter('"platt paul"', fields)(row)
    assert parse_filter("nosuchfield:paul", fields)(row) is False  # unknown fields are plain words
    assert parse_filter('"unclosed', fields)(row) is False  # typing a quote never raises


def test_cells_are_neutralised_once_when_rows_are_built():
    row = make_row("k", ("\x1b[31mred", "[b]x[/b]", "\u202eevil"))
    assert row.cells == ("\\x1b[31mred", "[b]x[/b]", "\\u202eevil")


def test_rows_made_with_a_cell_cache_are_the_rows_made_without():
    """A review queue's rows neutralise each distinct text once: the same cells, sort and text
    looked in as one text at a time, for untrusted text, long text, repeats and non-text values."""
    cache = CellCache(limit=12)
    batches = [("\x1b[31mred", "[b]x[/b]", "\u202eevil", "Paul Platt"), ("Paul Platt", "x" * 40, 1, True),
               ("1", "True", None, "\x1b[31mred"), ("PAUL PLATT", "paul platt", "", "x" * 40)]
    for n, values in enumerate(batches):
        plain = make_row(str(n), values, limit=12, cell_styles=("bold", "", "", ""), style="bold", data=values)
        cached = make_row(str(n), values, limit=12, cell_styles=("bold", "", "", ""), style="bold", data=values,
                          cache=cache)
        assert cached == plain
    assert make_row("k", ("1", 1, True), limit=12, cache=cache).cells == ("1", "1", "True")


def test_conflict_rows_carry_every_finding_and_filter_by_field(triage):
    rows = conflict_rows(triage.analysis)
    assert len(rows) == len(triage.analysis.findings)
    paul = [r for r in rows if parse_filter("person:paul.platt", CONFLICT_FIELDS)(r)]
    assert [(r.cells[1], r.cells[4], r.cells[5]) for r in paul] == [("FE-SOD-003", "app:platform", "aws+github")]
    storefront = [r for r in rows if parse_filter("app:storefront rule:FE-SOD-001", CONFLICT_FIELDS)(r)]
    assert len(storefront) == 10


def test_matrix_rows_are_the_core_matrix(triage):
    core = {r["person"]: r for r in matrix_rows(triage.analysis, tier="production")}
    rows = matrix_table_rows(triage, tier="production")
    assert {r.key for r in rows} == set(core)
    for row in rows:
        counts = [len(core[row.key]["capabilities"][c]) for c in CAPABILITIES]
        used = [len(core[row.key]["used"].get(c, ())) for c in CAPABILITIES]  # used in the activity period
        # resources reached only through the declared break-glass path are counted apart
        emergency = [len(core[row.key]["emergency"].get(c, ())) for c in CAPABILITIES]
        expected = tuple(((f"● {n}" + (f" ✓{u}" if u else "")) if n else "") + (
            (f" ⚑{e}" if n else f"⚑ {e}") if e else "") or "·" for n, u, e in zip(counts, used, emergency))
        assert row.cells[3:] == expected
        assert (row.cells[2] == "▲ yes") == core[row.key]["conflict"]
        person = triage.analysis.identities.people.get(row.key)
        assert row.cells[1] == ("LEFT" if person.is_leaver else "no record" if not person.roster.in_roster
                                else person.status)
    assert any("✓" in cell for row in rows for cell in row.cells)  # the demo's quarter has last-use data
    alex = next(row for row in rows if row.key == "alex.adeyemi@acme.com")
    assert alex.cells[3:] == ("·", "·", "·", "⚑ 1", "·", "⚑ 1")  # only through ops-breakglass: emergency, apart


def test_gap_rows_include_a_failed_source_as_unknown_everything():
    failed = SourceResult("aws", "aws", error="AccessDenied on organizations:ListAccounts",
                          gaps=(Gap("aws", "", "organizations:ListAccounts denied", "every member account"),))
    snapshot = Snapshot(id=1, taken_at="", label="", sources=(failed,))
    config = demo_config()
    rows = gap_rows(analyze(snapshot, config, waivers=[]))
    assert [r.cells for r in rows] == [
        ("aws", "source aws (whole source)", "AccessDenied on organizations:ListAccounts",
         "everything this source would have read"),
        ("aws", "(whole source)", "organizations:ListAccounts denied", "every member account"),
    ]


def test_times_are_the_stored_ones_never_the_clock():
    assert when("2026-11-02T08:00:00+00:00") == "2026-11-02 08:00 UTC"
    assert when("2026-11-02T08:00:00+02:00") == "2026-11-02 08:00 +02:00"
    assert when("") == "unknown time"


def test_columns_give_way_by_priority_and_ids_are_never_cut():
    from foureyes.tui.rows import Column, layout

    columns = (Column("id", "Id", whole=True, priority=0), Column("title", "Title", min_width=10, priority=0, grow=2),
               Column("scope", "Scope", min_width=8, priority=3), Column("status", "Status", priority=1, min_width=6))
    natural = [21, 50, 24, 8]  # the longest cell of each
    # room for everything: each column as wide as its longest cell, the rest to the title
    wide = layout(columns, natural, 200)
    assert wide[0] == 21 and wide[2] == 24 and wide[3] == 8 and sum(w + 2 for w in wide) == 200
    assert layout(columns, natural, 200, fill=False) == [21, 50, 24, 8]
    # narrow: the least important column goes first, the id stays whole, the title shrinks
    narrow = layout(columns, natural, 50)
    assert narrow[2] is None and narrow[0] == 21 and narrow[3] == 8 and 10 <= narrow[1] < 50
    assert sum(w + 2 for w in narrow if w is not None) <= 50
    # narrower than the ids and titles need: they stay (the table scrolls sideways)
    tiny = layout(columns, natural, 30)
    assert tiny[0] == 21 and tiny[1] == 10 and tiny[2] is None and tiny[3] is None


def test_a_text_column_sorts_as_the_general_order_and_widths_are_each_columns_longest():
    """The quick paths for a long queue: a column of text sorted on the text (empty ones last,
    ties in view order, either direction) as `_sortable` orders any column; the natural widths
    are each column's longest cell over the columns every row has, header lines included."""
    import random

    from foureyes.tui.rows import Column, Row, natural_widths
    from foureyes.tui.widgets.table import _sortable, _sorted

    rng = random.Random(2)
    texts = ["", "a", "b", "B", "ab", "é", "z", "a b"]
    for _ in range(3000):
        n = rng.randint(0, 12)
        pool = texts[1:] if rng.random() < 0.3 else texts if rng.random() < 0.6 else texts + [None, 1, 2.5, ("a",), 0]
        values = [rng.choice(pool) for _ in range(n)]
        view = [i for i in range(n) if rng.random() < 0.8]
        if rng.random() < 0.3:
            rng.shuffle(view)
        for reverse in (False, True):
            assert _sorted(list(view), values, reverse) == sorted(view, key=lambda i: _sortable(values[i]),
                                                                  reverse=reverse)
    for _ in range(500):
        columns = [Column(str(i), "x" * rng.randint(0, 6) + ("\nyyyyyyy" if rng.random() < 0.2 else ""))
                   for i in range(rng.randint(1, 5))]
        rows = [Row("k", tuple("z" * rng.randint(0, 9) for _ in range(rng.randint(0, 6))), ())
                for _ in range(rng.randint(0, 6))]
        shared = min((len(r.cells) for r in rows), default=0)
        assert natural_widths(columns, rows) == [
            max([max(map(len, c.label.split("\n")))] + [len(r.cells[n]) for r in rows if n < shared])
            for n, c in enumerate(columns)]
