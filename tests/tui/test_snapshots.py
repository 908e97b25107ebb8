"""SVG snapshots of every screen on the Acme demo at a fixed size (160×45).

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`
and look at the SVGs in __snapshots__ before committing them.
"""

from __future__ import annotations

import pytest

from foureyes.tui import make_app

from .conftest import SIZE, press, settle, type_text

SCREENS = {
    "overview": [],
    "conflicts": ["2", "down", "down", "down", "down", "down", "down", "down", "down"],  # Paul Platt, FE-SOD-003
    "path": ["2", "down", "down", "down", "down", "down", "down", "down", "down", "enter", "down"],
    "proof": ["2"],  # FE-ACT-001: Max shipped a change alone, proven hop by hop
    "changes": ["7", "f", "text:hotfix", "enter"],  # the population, filtered to Max's change and its proof
    "matrix": ["3", "down"],
    "people": ["4"],
    "person": ["4", "f", "text:max", "enter", "enter"],
    "gaps": ["5"],
    "search": ["slash", "text:sam"],
    "snapshots": ["s"],
    "help": ["f1"],
}


@pytest.mark.parametrize("name", sorted(SCREENS))
def test_screen_snapshot(name, snap_compare, demo_url):
    async def run_before(pilot) -> None:
        app = pilot.app
        await settle(app, pilot)
        for key in SCREENS[name]:
            if key.startswith("text:"):
                await type_text(app, pilot, key[5:])
            else:
                await press(app, pilot, key)

    assert snap_compare(make_app(store_url=demo_url, demo=True), terminal_size=SIZE, run_before=run_before)
