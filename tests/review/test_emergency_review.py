"""Campaign scope "emergency" on the Acme demo: one item per use of its declared break-glass role,
reviewed by someone other than the user under any of his accounts; revoking a use is a follow-up
ticket, not a grant to look for later; the evidence report lists the uses and their reviews."""

from __future__ import annotations

import json

import pytest

from foureyes import review
from foureyes.emergency import USE_VIA
from foureyes.errors import InputError
from foureyes.export import report, tickets

from .conftest import FALLBACK, TODAY

ALEX, PRISCILLA = "alex.adeyemi@acme.com", "priscilla.payne@acme.com"
SEPTEMBER, OCTOBER = "demo-ct-bg-0914", "demo-ct-bg-1021"


def _emergency(store, config, **scope):
    spec = review.spec_from_config(config, name="Break-glass uses Q4", scope=review.Scope(kind="emergency", **scope),
                                   today=TODAY)
    return review.create_campaign(store, config, spec, actor="security@acme.com", today=TODAY)


def test_one_item_per_use_none_reviewed_by_its_user(store, review_config):
    campaign = _emergency(store, review_config)
    items = {next(i for i in ("0914", "1021") if i in item.entitlement): item
             for item in review.items(store, campaign.id)}
    assert set(items) == {"0914", "1021"}  # the demo's two uses of prod-breakglass
    for item in items.values():
        assert item.via == USE_VIA and item.person == ALEX and item.resource == "aws:account:111111111111"
        assert item.reviewer == PRISCILLA and item.reviewer_rule == "owner of app payments"
        # nobody decides a use of their own, under any account the identity links give them
        for spelling in (ALEX, "github:alex-sec", "aws:arn:aws:iam::222222222222:user/alex"):
            with pytest.raises(review.SelfReview):
                review.decide(store, item.id, "certify", actor=spelling)
    september, october = items["0914"], items["1021"]
    assert "ticket: INC-4711 (role session name)" in september.path and not september.conflicts
    assert [c.rule for c in october.conflicts] == ["FE-EMG-001", "FE-EMG-002"]
    assert any(line.startswith("did: ") and "iam:AttachRolePolicy" in line for line in october.path)
    assert set(october.capabilities) == {"deploy.run", "access.admin"}  # what the path gives him

    review.decide(store, september.id, "certify", actor=PRISCILLA, reason="INC-4711: payments outage")
    review.decide(store, october.id, "revoke", actor=PRISCILLA, reason="no incident that evening")
    # a use reviewed as not justified: a follow-up ticket, never a grant to look for in later snapshots
    found = tickets.build(store, review_config, campaign.id)
    assert [t.title for t in found.tickets] == [
        f"Follow up the {october.entitlement} on acme-prod (111111111111) by Alex Adeyemi: reviewed as not justified"]
    assert review.follow_through(store, campaign_id=campaign.id) == []

    evidence = report.gather(store, review_config, campaign.id, today=TODAY)
    rows = {r.use.id: r for r in evidence.emergency.uses}
    assert (rows[SEPTEMBER].state, rows[SEPTEMBER].review.decided_by) == ("certified", PRISCILLA)
    assert (rows[OCTOBER].state, rows[OCTOBER].campaign) == ("revoked", campaign.id)
    text = report.render_markdown(evidence)
    assert "### Uses (2)" in text and "revoked by `priscilla.payne@acme.com`" in text


def test_filters_narrow_the_uses_and_a_snapshot_without_activity_is_refused(store, review_config):
    assert review.items(store, _emergency(store, review_config, people=(FALLBACK,)).id) == []
    assert len(review.items(store, _emergency(store, review_config, systems=("aws",)).id)) == 2
    spec = review.spec_from_config(review_config, name="October", scope=review.Scope(kind="emergency"), today=TODAY)
    with pytest.raises(InputError, match="taken without activity"):
        review.create_campaign(store, review_config, spec, actor="security@acme.com", snapshot_id=1, today=TODAY)


def test_campaign_new_scope_emergency_on_the_demo(cli, demo_store, demo_config_file):
    created = cli("-c", str(demo_config_file), "campaign", "new", "--scope", "emergency", "--name", "Break glass",
                  "--as", "ciso@acme.com", "--format", "json")
    assert created.returncode == 0, created.stderr
    data = json.loads(created.stdout)
    assert data["items"] == 2 and data["scope"]["kind"] == "emergency"
    listed = cli("-c", str(demo_config_file), "campaign", "show", str(data["id"]), "--format", "json")
    assert listed.returncode == 0, listed.stderr
