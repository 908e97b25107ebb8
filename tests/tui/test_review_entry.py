"""`foureyes review` in a real pseudo-terminal: decisions by key, and a review killed halfway."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from foureyes import review
from foureyes.store import audit
from foureyes.config import parse_config
from foureyes.connectors import demo
from foureyes.store import Store

from .test_entry_points import Terminal

PRISCILLA = "priscilla.payne@acme.com"
CONFIG_TOML = demo.DEMO_CONFIG_TOML + '\n[campaigns]\nfallback_reviewer = "ciso@acme.com"\n'


@pytest.mark.slow
def test_a_review_killed_with_sigkill_keeps_every_decision_it_showed(demo_url, tmp_path: Path):
    config_path = tmp_path / "foureyes.toml"
    config_path.write_text(CONFIG_TOML)
    with Store(demo_url) as store:
        config = parse_config(CONFIG_TOML)
        campaign = review.create_campaign(store, config, review.spec_from_config(config, name="Q4"), actor="sec")
    term = Terminal("-c", str(config_path), "review", "--as", PRISCILLA, env={"FOUREYES_STORE_URL": demo_url})
    try:
        term.wait_for("34 items in your queue")
        for done in (1, 2, 3):
            term.send("c")
            term.wait_for(f"{done}/111 done")
        term.send("v")  # a fourth decision, killed at once: it either committed whole or not at all
    finally:
        os.killpg(term.process.pid, signal.SIGKILL)
        term.close()
    assert term.process.returncode == -signal.SIGKILL
    with Store(demo_url) as store:
        decided = review.decisions(store, campaign_id=campaign.id)
        assert [d.decision for d in decided][:3] == ["certify"] * 3 and len(decided) in (3, 4)
        assert {d.actor for d in decided} == {PRISCILLA}
        states = [i.state for i in review.items(store, campaign.id) if i.state != "pending"]
        assert sorted(states) == sorted(d.decision for d in decided)
        result = audit.verify(store)
        assert result.ok and result.entries == 1 + len(decided)
        assert review.check_against_audit(store) == []
