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
