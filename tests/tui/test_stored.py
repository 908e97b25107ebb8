"""The TUI on the analysis stored beside the snapshot: shown at once when current; shown marked
STALE when its inputs changed, then replaced by the current one computed in the background.
Filters on big tables run in a worker and still land."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from textual.worker import WorkerCancelled

from foureyes.connectors import demo
from foureyes.tui import make_app
from foureyes.tui.widgets.navbar import banner_text
from foureyes.tui.widgets.table import RecordTable
from foureyes.workspace import Workspace

from .conftest import SIZE, press, screen_text, settle, type_text


def _app_recording(store_url: str, config: Any) -> tuple[Any, list[tuple[Any, str]]]:
    """The app, and for each analysis it shows: its staleness and the banner above it."""
    from foureyes.tui import app as app_module
    from foureyes.tui.app import FoureyesApp

    seen: list[tuple[Any, str]] = []

    class Recording(FoureyesApp):
        CSS_PATH = str(Path(app_module.__file__).parent / "app.tcss")  # relative paths are the subclass's

        def on_triage_loaded(self, message: Any) -> None:
            super().on_triage_loaded(message)
            seen.append((message.triage.analysis.stale, banner_text(message.triage)))

    return Recording(store_url=store_url, config=config), seen


def test_a_current_stored_analysis_shows_at_once_and_a_stale_one_until_the_current_is_ready(demo_url):
    config = demo.demo_config()
    with Workspace.open(config, url=demo_url) as workspace:
        stored = workspace.analysis()
    changed = dataclasses.replace(config, rules=dataclasses.replace(config.rules, disable=["FE-SOD-002"]))

    async def main(config: Any) -> list[tuple[Any, str]]:
        app, seen = _app_recording(demo_url, config)
        async with app.run_test(size=SIZE) as pilot:
            for _ in range(5):  # the current analysis replaces the stale one: workers for the old one are cancelled
                try:
                    await settle(app, pilot)
                    break
                except WorkerCancelled:
                    continue
            await press(app, pilot, "2")
            shown = {f.rule.id for f in app.triage.analysis.findings}
            assert ("FE-SOD-002" in shown) == (config is not changed)
            assert "STALE" not in screen_text(app) and not app.screen.query_one("#incomplete").has_class("-shown")
        return seen

    seen = asyncio.run(main(config))
    assert [stale for stale, _ in seen] == [None]  # read back, nothing computed
    seen = asyncio.run(main(changed))
    (first, banner), (second, after) = seen
    assert first is not None and set(first.changed) >= {"rules"}
    assert banner.startswith("STALE: this analysis was computed before the rule pack")
    assert second is None and "STALE" not in after
    with Workspace.open(changed, url=demo_url) as workspace:
        current = workspace.stored_analysis()
        assert current is not None and current.stale is None and current.row.id != stored.row.id


def test_a_filter_on_a_big_table_is_computed_in_a_worker_and_lands(demo_url, monkeypatch):
    monkeypatch.setattr(RecordTable, "BACKGROUND_FROM", 0)  # every table counts as big

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "2", "f")
            table = app.screen.table
            everyone = table.row_count
            await type_text(app, pilot, "rule:FE-SOD-004")
            await settle(app, pilot)
            assert 0 < table.row_count < everyone
            assert all(row.fields["rule"] == "fe-sod-004" for row in table.visible_rows)  # fields are folded
            assert f"{table.row_count} of {everyone} findings match rule:FE-SOD-004" in screen_text(app)
            await press(app, pilot, "3", "f")
            await type_text(app, pilot, "zzz-nobody")
            await settle(app, pilot)
            assert app.screen.table.row_count == 0

    asyncio.run(main())


def test_a_filter_no_longer_wanted_stops_between_chunks_of_rows(monkeypatch):
    """A thread cannot be cancelled: a filter left testing 500,000 rows after a newer key was
    typed slowed every key after it. Asked whether it is still wanted, it stops."""
    from foureyes.tui import rows as rows_module

    monkeypatch.setattr(rows_module, "FILTER_CHUNK", 64)
    rows = [SimpleNamespace(key=n) for n in range(3 * 64 + 5)]
    tested: list[int] = []

    def even(row: Any) -> bool:
        tested.append(row.key)
        return row.key % 2 == 0

    assert rows_module.apply_filter(rows, even, stop=lambda: False) == list(range(0, 3 * 64 + 5, 2))
    assert tested == list(range(3 * 64 + 5))
    tested.clear()
    wanted = iter([False, True])
    assert rows_module.apply_filter(rows, even, stop=lambda: next(wanted)) is None
    assert tested == list(range(64))  # one chunk, then it stopped


def test_a_review_filter_in_a_worker_counts_what_it_shows(demo_url, monkeypatch):
    """The queue's summary ("N of M items match … · K pending") is counted with the view, in the
    filter's worker, not over the whole queue on the UI thread after it."""
    from foureyes import review

    monkeypatch.setattr(RecordTable, "BACKGROUND_FROM", 0)  # every table counts as big
    config = demo.demo_config()
    config = dataclasses.replace(config, campaigns=dataclasses.replace(config.campaigns,
                                                                        fallback_reviewer="ciso@acme.com"))
    with Workspace.open(config, url=demo_url) as workspace:
        workspace.create_campaign(workspace.campaign_spec(name="Q4", scope=review.Scope(kind="production")),
                                  actor="security@acme.com")

    async def main() -> None:
        app = make_app(store_url=demo_url, config=config, reviewer="ciso@acme.com", review=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            table = app.screen.table
            everyone = table.row_count
            pending = sum(1 for r in table.visible_rows if r.data.state == review.PENDING)
            assert everyone > 10 and f"{everyone} items in your queue · {pending} pending" in screen_text(app)
            await press(app, pilot, "f")
            await type_text(app, pilot, "aws")
            shown = table.visible_rows
            assert 0 < len(shown) < everyone and table.view_summary is not None
            pending = sum(1 for r in shown if r.data.state == review.PENDING)
            assert f"{len(shown)} of {everyone} items match aws · {pending} pending" in screen_text(app)

    asyncio.run(main())


def test_a_team_chosen_on_a_big_matrix_shows_its_rows_at_once_as_testing_every_row_would(demo_url, monkeypatch):
    """A team narrows the matrix to its members: only their rows are tested, so a team smaller than
    `BACKGROUND_FROM` is applied in the handler of the choice (drawn in the same frame) and a larger
    one in a worker; either way the rows, their order and the summary are what testing every row
    gives, with a typed filter and "conflicts only" on top."""
    monkeypatch.setattr(RecordTable, "BACKGROUND_FROM", 4)  # the matrix (38 people) counts as big

    def every_row(table: RecordTable) -> list[int]:
        return [n for n, row in enumerate(table.rows) if table.row_filter(row)]

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "3")
            screen = app.screen
            table = screen.table
            sizes = {team: len(Workspace.team_members(app.triage.analysis, team)) for team in app.triage.teams}
            small = "sre"
            large = next(team for team, size in sizes.items() if size >= 4)
            assert sizes[small] == 3

            screen.set_scope(team=small)  # no await: the rows are there when the handler returns
            assert {row.cells[0] for row in table.visible_rows} == {"Sam Sato", "Sid Shah", "Sue Sorensen"}
            assert table.view == every_row(table)
            await settle(app, pilot)
            assert f"3 of {len(table.rows)} people" in screen_text(app) and "team sre" in screen_text(app)

            await press(app, pilot, "f")
            await type_text(app, pilot, "sam")
            assert [row.cells[0] for row in table.visible_rows] == ["Sam Sato"]
            await press(app, pilot, "escape")
            await press(app, pilot, "c")  # conflicts only, within the team and the filter
            assert table.view == every_row(table)

            screen.set_scope(team=large)  # as many as BACKGROUND_FROM: in a worker, landing the same
            await settle(app, pilot)
            assert table.row_filter.keys is not None and len(table.row_filter.keys) == sizes[large]
            assert table.view == every_row(table)
            assert all(row.key in table.row_filter.keys for row in table.visible_rows)

            table.sort_by("name", reverse=True)  # sorted after the members' rows are picked
            screen.set_scope(team=small)
            before = [table.rows[n].cells[0] for n in table.view]
            assert before == sorted(before, reverse=True)
            assert sorted(table.view) == every_row(table)

    asyncio.run(main())


def test_a_filter_on_a_sorted_big_table_takes_the_rows_in_the_sorts_order_without_sorting_again(demo_url,
                                                                                                  monkeypatch):
    """Once the rows are sorted without a filter, a filter picks the rows that pass in that order
    (a sort of 500,000 rows holds the GIL, and the UI thread with it, throughout): the view is what
    filtering then sorting gives, for every column and both directions, empty cells included."""
    from foureyes.tui import rows as rows_module
    from foureyes.tui.widgets import table as table_module

    monkeypatch.setattr(RecordTable, "BACKGROUND_FROM", 0)  # every table counts as big: filters in a worker
    sorts: list[int] = []
    real_sorted = table_module._sorted

    def counted(view, values, reverse):
        sorts.append(len(view))
        return real_sorted(view, values, reverse)

    monkeypatch.setattr(table_module, "_sorted", counted)

    def filtered_then_sorted(table: RecordTable) -> list[int]:
        view = rows_module.apply_filter(table.rows, table.row_filter)
        position = [c.key for c in table.columns].index(table.sort_column)
        return real_sorted(view, [row.sort[position] for row in table.rows], table.sort_reverse)

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            for section, text in (("2", "sod"), ("3", "sa")):
                await press(app, pilot, section)
                table = app.screen.table
                box = app.screen.query_one("#filter")
                typed = False
                for column in [c.key for c in table.columns][:4]:
                    for reverse in (False, True):
                        table.set_filter(None)
                        table.sort_by(column, reverse=reverse)  # sorted once, without a filter
                        sorts.clear()
                        if not typed:  # the first filter typed key by key (a worker per key), the rest set whole
                            await press(app, pilot, "f")
                            await type_text(app, pilot, text)
                            typed = True
                        else:
                            box.value = text
                        await settle(app, pilot)
                        assert sorts == []  # not sorted again
                        assert 0 < table.row_count < len(table.rows)
                        assert table.view == filtered_then_sorted(table), (section, column, reverse)
                        box.value = ""
                        await settle(app, pilot)
                await press(app, pilot, "escape")

    asyncio.run(main())


def test_a_row_replaced_with_another_value_in_the_sorted_column_is_sorted_again_by_the_next_filter(demo_url,
                                                                                                 monkeypatch):
    """`replace_rows` keeps the view (a selection mark); if the sorted column is the one whose value
    changed (sorted by the mark), the kept order is dropped and the next filter sorts as main did."""
    from foureyes.tui import rows as rows_module
    from foureyes.tui.widgets import table as table_module

    monkeypatch.setattr(RecordTable, "BACKGROUND_FROM", 0)

    async def main() -> None:
        app = make_app(store_url=demo_url, demo=True)
        async with app.run_test(size=SIZE) as pilot:
            await settle(app, pilot)
            await press(app, pilot, "3")
            table = app.screen.table
            table.sort_by("name")
            first = table.rows[table.view[0]]
            renamed = dataclasses.replace(first, sort=("zz last",) + tuple(first.sort[1:]))
            same = table.rows[table.view[1]]
            table.replace_rows([dataclasses.replace(same, cells=same.cells)])  # nothing sorted changed
            assert table._ordered is not None
            table.replace_rows([renamed])
            assert table._ordered is None
            await press(app, pilot, "f")
            await type_text(app, pilot, "a")
            await settle(app, pilot)
            view = rows_module.apply_filter(table.rows, table.row_filter)
            assert table.view == table_module._sorted(view, [row.sort[0] for row in table.rows], False)
            assert table.rows[table.view[-1]].key == first.key  # "zz last" sorts last now

    asyncio.run(main())
