"""Revocation follow-through: later snapshots turn revoked grants verified, or regressed when they return."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from foureyes import review
from foureyes.connectors import demo
from foureyes.model import Gap

from .conftest import FALLBACK, TODAY

WALTER_IN_WEB = ("github:walter-web", "github:team/acme/web")
PEDRO_IN_PAYMENTS = ("github:pedro-pay", "github:team/acme/payments")


def _later(*, drop: tuple[tuple[str, str], ...] = (), gaps: tuple[Gap, ...] = ()):
    """November's Acme with some team memberships removed and some gaps added."""
    github, *rest = demo.build("after")
    edges = tuple(e for e in github.edges if (e.src, e.dst) not in drop)
    return [replace(github, edges=edges, gaps=github.gaps + gaps)] + rest


@pytest.fixture
def revoked(store, review_config):
    spec = review.spec_from_config(review_config, name="Q4", today=TODAY)
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    items = review.items(store, campaign.id)
    walter = next(i for i in items if i.person == "walter.wong@acme.com" and i.entitlement == "write"
                  and i.resource == "github:repo:acme/storefront-web")
    pedro = next(i for i in items if i.person == "pedro.pinto@acme.com" and i.resource == "github:repo:acme/payments-api")
    kept = next(i for i in items if i.person == "omar.osman@acme.com" and i.entitlement == "write"
                and i.resource == "github:repo:acme/storefront-web")
    for item in (walter, pedro):
        review.decide(store, item.id, "revoke", actor=FALLBACK, reason="no longer needed")
    review.decide(store, kept.id, "certify", actor=FALLBACK)
    return campaign, walter, pedro


def _states(store, campaign):
    return {f.item_id: f for f in review.follow_through(store, campaign_id=campaign.id)}


def test_revocations_are_pending_until_a_snapshot_shows_them_gone_then_regressed_if_back(
        store, review_config, revoked):
    campaign, walter, pedro = revoked
    # no later snapshot yet: both pending, and the certified item is not followed at all
    assert review.check_revocations(store, review_config) == 0
    assert {i: f.state for i, f in _states(store, campaign).items()} == {walter.id: "pending", pedro.id: "pending"}

    # Walter leaves the web team: his revoked write is verified; Pedro still holds his
    third = store.write_snapshot(_later(drop=(WALTER_IN_WEB,)), label="after walter left web").id
    assert review.check_revocations(store, review_config) == 2
    states = _states(store, campaign)
    assert (states[walter.id].state, states[walter.id].gone_in) == ("verified", third)
    assert (states[pedro.id].state, states[pedro.id].last_checked) == ("pending", third)
    assert review.follow_through_counts(store, campaign_id=campaign.id) == {
        "pending": 1, "verified": 1, "regressed": 0}
    assert review.check_revocations(store, review_config) == 0  # each snapshot is checked once

    # Walter is added back: regressed
    fourth = store.write_snapshot(demo.build("after"), label="walter is back").id
    review.check_revocations(store, review_config)
    states = _states(store, campaign)
    assert (states[walter.id].state, states[walter.id].gone_in, states[walter.id].back_in) == \
        ("regressed", third, fourth)
    assert review.follow_through_counts(store, campaign_id=campaign.id) == {
        "pending": 1, "verified": 0, "regressed": 1}


def test_a_gap_is_never_proof_that_access_is_gone(store, review_config, revoked):
    campaign, walter, pedro = revoked
    gap = Gap("github", "github:repo:acme/payments-api", "403 on GET /repos/acme/payments-api/teams",
              "teams with access")
    blind = store.write_snapshot(_later(drop=(PEDRO_IN_PAYMENTS,), gaps=(gap,)), label="pedro gone, but a gap").id
    review.check_revocations(store, review_config)
    states = _states(store, campaign)
    assert states[pedro.id].state == "pending" and states[pedro.id].unknown_in == (blind,)
    # the next clean snapshot settles it
    store.write_snapshot(_later(drop=(PEDRO_IN_PAYMENTS,)), label="pedro gone")
    review.check_revocations(store, review_config)
    assert _states(store, campaign)[pedro.id].state == "verified"


def test_campaign_show_reports_follow_through(store, store_url, review_config, review_config_file, revoked, cli):
    campaign, walter, pedro = revoked
    store.write_snapshot(_later(drop=(WALTER_IN_WEB,)), label="after walter left web")
    env = {"FOUREYES_STORE_URL": store_url}
    result = cli("-c", str(review_config_file), "campaign", "show", str(campaign.id), "--format", "json", env=env)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["follow_through"] == {"pending": 1, "verified": 1, "regressed": 0}
    table = cli("-c", str(review_config_file), "campaign", "show", str(campaign.id), env=env)
    assert "revocations 1 pending, 1 verified, 0 regressed" in table.stdout
