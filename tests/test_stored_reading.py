"""What `conflicts`, `who-can`, `matrix` and the TUI read from a stored analysis without its
holdings (counts, summaries) answers as the analysis computed now: on a generated enterprise at
a small scale (benchmarks/generate.py), where the demo's few people would hide a miscount.
The demo's emergency and time-bound paths are covered by tests/test_stored_analysis.py."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

from foureyes.config import parse_config
from foureyes.store import Store
from foureyes.stored import StoredAnalysis
from foureyes.workspace import Workspace

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def enterprise(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, StoredAnalysis, Any]]:
    """A generated enterprise stored and analysed (the stored analysis and one computed now)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from generate import generate
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    results, _ = generate(0.01)
    url = f"sqlite:///{tmp_path_factory.mktemp('enterprise') / 'bench.db'}"
    with Store(url) as store:
        store.write_snapshot(results, label="bench")
    config = parse_config('[identity]\nemail_domains = ["bigco.example"]\n', "<test>")
    with Workspace.open(config, url=url) as workspace:
        stored = workspace.analysis()
        assert isinstance(stored, StoredAnalysis)
        computed = workspace.analyse_snapshot(workspace.load_snapshot())
        yield workspace, stored, computed


def _counted(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, **{part: {c: len(v) for c, v in r[part].items()} for part in ("capabilities", "emergency", "used")}}
            for r in rows]


def test_the_matrix_counted_from_the_stored_counts_is_the_computed_one(enterprise):
    workspace, stored, computed = enterprise
    tiers = ["any", *sorted({r.tier for r in computed.snapshot.resources.values() if r.tier}), "nowhere"]
    assert "production" in tiers
    team = sorted(computed.team_keys())[1].rsplit("/", 1)[-1]
    for tier in tiers:
        for scope in ({}, {"conflicts_only": True}, {"team": team}):
            expected = workspace.matrix(computed, tier=tier, **scope)
            counted = workspace.matrix(stored, tier=tier, counts=True, **scope)
            assert counted == _counted(expected), (tier, scope)
        assert workspace.matrix(computed, tier=tier, counts=True) == workspace.matrix(stored, tier=tier, counts=True)
    production = workspace.matrix(stored, tier="production", counts=True)
    assert len(production) > 20 and any(r["conflict"] for r in production)
    assert sum(r["capabilities"]["deploy.run"] for r in production) > 0


def test_the_conflicts_tables_first_people_are_named_from_their_rows_alone_as_when_computed(enterprise):
    """The Conflicts table's first screenful names its people from their rows alone, before
    everyone is read: the names the computed analysis gives (unlinked accounts marked as such),
    and the table built so is the one built from the analysis computed now."""
    from foureyes.tui.state import conflict_rows, iter_conflict_rows

    workspace, _, computed = enterprise
    people = computed.identities.people
    linked = [k for k, p in people.items() if p.linked]
    unlinked = [k for k, p in people.items() if not p.linked]
    keys = [*linked[:40], *unlinked[:40], "nobody@bigco.example"]
    fresh = workspace.stored_analysis()
    names = fresh.person_names(keys)
    assert fresh._identities is None  # their rows alone were read
    assert names == computed.person_names(keys)
    assert len(names) == 80 and [names[k][1] for k in keys[:80]] == [True] * 40 + [False] * 40
    assert fresh.person_names(keys) == names and fresh.person_names([]) == {}
    _ = fresh.identities  # everyone read: the names come from the people themselves
    assert fresh.person_names(keys) == names

    def shown(rows: list[Any]) -> list[tuple[Any, ...]]:
        return [(r.key, r.cells, r.sort, r.fields, r.haystack, r.style, r.cell_styles) for r in rows]

    first_named_alone = list(iter_conflict_rows(workspace.stored_analysis(), 100))
    assert shown(first_named_alone) == shown(conflict_rows(computed))
    assert any(r.data.person in unlinked and f"({r.data.person})" in r.cells[3] for r in first_named_alone[:100])
