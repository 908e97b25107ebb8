"""The application layer: what the CLI and the TUI both ask, answered one way."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from foureyes import review
from foureyes.config import parse_config
from foureyes.connectors import demo
from foureyes.errors import InputError, NotFound
from foureyes.workspace import Workspace

CISO = "ciso@acme.com"
CONFIG_TOML = demo.DEMO_CONFIG_TOML + f'\n[campaigns]\nfallback_reviewer = "{CISO}"\nexception_max_days = 180\n'


@pytest.fixture
def workspace(tmp_path):
    config = parse_config(CONFIG_TOML, "<workspace test>")
    with Workspace.open(config, url=f"sqlite:///{tmp_path / 'store.db'}") as opened:
        opened.load_demo()
        yield opened


@pytest.fixture
def run(workspace, tmp_path, monkeypatch):
    """`foureyes -c CONFIG ARGS` in this process, on the workspace's store."""
    from click.testing import CliRunner

    from foureyes.cli import main

    config = tmp_path / "foureyes.toml"
    config.write_text(CONFIG_TOML, encoding="utf-8")
    monkeypatch.setenv("FOUREYES_STORE_URL", f"sqlite:///{tmp_path / 'store.db'}")

    def call(*args: str):
        result = CliRunner().invoke(main, ["-c", str(config), *args], catch_exceptions=False)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)
    return call


def _excepted_sam(workspace: Workspace) -> review.ExceptionRequest:
    """Sam's storefront-api conflict excepted in a campaign and approved by a second person."""
    campaign = workspace.create_campaign(workspace.campaign_spec(name="Q4"), actor="security@acme.com")
    sam = next(i for i in workspace.items(campaign.id) if i.person == "sam.sato@acme.com"
               and any(c.rule == "FE-SOD-004" for c in i.conflicts))
    outcome = workspace.decide(sam.id, "exception", actor=CISO, reason="on-call rota",
                               expires=datetime.now(timezone.utc).date() + timedelta(days=30))
    approved = workspace.approve_exception(outcome.exception.id, actor="priscilla.payne@acme.com")
    return approved.exception


def test_approved_campaign_exceptions_count_once_in_every_analysis(workspace):
    request = _excepted_sam(workspace)
    analysis = workspace.analysis()
    from_campaigns = [w for w in analysis.waivers if w.source.startswith("campaign ")]
    assert len(from_campaigns) == len(request.covers) >= 1  # added once, not once per caller
    covered = [f for f in analysis.findings if f.person == "sam.sato@acme.com" and f.rule.id == "FE-SOD-004"]
    assert covered and all(f.covered for f in covered)
    # drift sees the same findings: what `foureyes drift` and the TUI's Overview compare
    found = workspace.drift()
    assert [w.source for w in found.new.waivers] == [w.source for w in analysis.waivers]
    assert workspace.drift_from_previous(analysis) == found.drift


def test_one_rule_chooses_the_campaign_in_every_command(workspace, run):
    with pytest.raises(NotFound, match="no campaign is open"):
        workspace.choose_campaign()
    first = workspace.create_campaign(workspace.campaign_spec(name="web"), actor="security@acme.com")
    assert workspace.choose_campaign().id == first.id
    second = workspace.create_campaign(workspace.campaign_spec(name="payments"), actor="security@acme.com")
    with pytest.raises(review.SeveralOpen) as refused:
        workspace.choose_campaign()
    assert isinstance(refused.value, InputError) and [c.id for c in refused.value.campaigns] == [first.id, second.id]
    for args in (["export", "tickets"], ["report"], ["undo", "--as", CISO], ["review", "--as", CISO],
                 ["decide", "--where", "app=payments", "certify", "--as", CISO, "--yes"]):
        result = run(*args)
        assert result.returncode == 2, args
        assert f"2 campaigns are open ({first.id}, {second.id}): pass --campaign ID" in result.stderr, args
    assert run("export", "tickets", "--campaign", str(second.id)).returncode == 0
