"""Campaigns: scopes, reviewer assignment, items frozen from a snapshot, templates, previous decisions."""

from __future__ import annotations

from collections import Counter
import pytest

from foureyes import review
from foureyes.store import audit
from foureyes.connectors import demo
from foureyes.errors import InputError

from .conftest import FALLBACK, TODAY

CREATOR = "security@acme.com"


def _campaign(store, config, name="Q4", **scope_kw):
    spec = review.spec_from_config(config, name=name, scope=review.Scope(**scope_kw), today=TODAY)
    return review.create_campaign(store, config, spec, actor=CREATOR, today=TODAY)


def test_production_campaign_freezes_every_production_grant_per_person(store, review_config):
    campaign = _campaign(store, review_config)
    items = review.items(store, campaign.id)
    assert campaign.snapshot_id == store.latest_id() and campaign.status == "open"
    assert campaign.due.isoformat() == "2026-12-04"  # today + [campaigns] due_days (14)
    assert len(items) == 111
    assert {i.tier for i in items} == {"production"}
    # a team grant is reviewed once per person who holds it, with the path through the team
    web = [i for i in items if i.entitlement == "write" and i.resource == "github:repo:acme/storefront-web"]
    assert {i.person for i in web} >= {"walter.wong@acme.com", "omar.osman@acme.com", "nina.nakamura@acme.com"}
    walter = next(i for i in web if i.person == "walter.wong@acme.com")
    assert walter.principal == "github:team/acme/web" and walter.via == "team"
    assert walter.path[0] == "Walter Wong <walter.wong@acme.com>"
    assert any("member of team web" in step for step in walter.path)
    assert walter.teams == ("github:team/acme/web",)
    # the others holding the same team grant: its members omar and nina, and its maintainer wanda
    assert walter.holders == len([i for i in items if i.grant_key == walter.grant_key]) - 1 == 3
    # the conflict it takes part in
    assert [c.rule for c in walter.conflicts] == ["FE-SOD-001"]
    assert walter.conflicts[0].scope == "app:storefront"
    # the campaign records the snapshot digest and an audit entry
    entries = audit.entries(store, campaign_id=campaign.id)
    assert [e.action for e in entries] == ["campaign.new"]
    assert entries[0].snapshot_digest == store.snapshot_info(campaign.snapshot_id).digest
    assert entries[0].detail["items"] == 111


def test_items_are_frozen_from_the_chosen_snapshot(store, review_config):
    # a campaign on October: Leo, who leaves in November, is in it although November is the latest
    spec = review.spec_from_config(review_config, name="October", scope=review.Scope(kind="all"), today=TODAY)
    october = review.create_campaign(store, review_config, spec, actor=CREATOR, snapshot_id=1, today=TODAY)
    assert october.snapshot_id == 1 and store.latest_id() == 2
    leo = [i for i in review.items(store, october.id) if i.person == "leo.lindqvist@acme.com"]
    assert {i.resource for i in leo} >= {"github:repo:acme/payments-worker"}
    # a snapshot written afterwards changes nothing in the campaign
    store.write_snapshot(demo.build("after"), label="later")
    assert [i for i in review.items(store, october.id) if i.person == "leo.lindqvist@acme.com"] == leo
    november = [i for i in review.items(store, _campaign(store, review_config, name="Nov", kind="all").id)]
    assert not [i for i in november if i.person == "leo.lindqvist@acme.com"]


def test_conflicts_scope_keeps_only_items_in_a_conflict(store, review_config):
    campaign = _campaign(store, review_config, kind="conflicts")
    items = review.items(store, campaign.id)
    assert items and all(i.conflicts for i in items)
    assert {c.rule for i in items for c in i.conflicts} >= {"FE-SOD-001", "FE-SOD-003", "FE-SOD-004", "FE-SOD-005"}
    # Pedro pushes payments code but cannot deploy: no conflict, not in the campaign
    assert not [i for i in items if i.person == "pedro.pinto@acme.com"]


@pytest.mark.parametrize("filters, check", [
    ({"systems": ("aws",)}, lambda i: i.resource.startswith("aws:")),
    ({"apps": ("payments",)}, lambda i: i.app == "payments"),
    ({"teams": ("sre",)}, lambda i: i.person in {"sam.sato@acme.com", "sue.sorensen@acme.com", "sid.shah@acme.com"}),
    ({"people": ("max.mueller@acme.com",)}, lambda i: i.person == "max.mueller@acme.com"),
    ({"people": ("github:max-pay",)}, lambda i: i.person == "max.mueller@acme.com"),
])
def test_filters_by_system_app_team_and_person(store, review_config, filters, check):
    items = review.items(store, _campaign(store, review_config, **filters).id)
    assert items and all(check(i) for i in items)
    everything = review.items(store, _campaign(store, review_config, name="all").id)
    assert len(items) == len([i for i in everything if check(i)])


def test_reviewers_app_owner_first_then_fallback_and_never_the_subject(store, review_config):
    items = review.items(store, _campaign(store, review_config).id)
    by_rule = Counter(i.reviewer_rule for i in items)
    assert set(by_rule) == {"owner of app payments", "owner of app storefront", "owner of app platform",
                            "fallback reviewer"}
    for item in items:
        assert not item.is_about(item.reviewer), item
    # Priscilla owns payments, so her own payments grants go to the fallback reviewer
    priscilla = [i for i in items if i.person == "priscilla.payne@acme.com"]
    assert priscilla and {i.reviewer for i in priscilla} == {FALLBACK}
    # in Acme every production grant belongs to an app: the fallback reviews exactly the owners' own grants
    owners = {"priscilla.payne@acme.com", "wanda.webb@acme.com", "paul.platt@acme.com"}
    assert {i.person for i in items if i.reviewer == FALLBACK} == owners


def test_team_maintainer_rule_picks_the_maintainer_of_the_granting_team(store, review_config):
    reviewers = review.ReviewerRules(rules=("team-maintainer",), fallback=FALLBACK)
    spec = review.spec_from_config(review_config, name="teams", scope=review.Scope(kind="all"),
                                   reviewers=reviewers, today=TODAY)
    items = review.items(store, review.create_campaign(store, review_config, spec, actor=CREATOR, today=TODAY).id)
    walter = next(i for i in items if i.person == "walter.wong@acme.com" and i.entitlement == "write"
                  and i.resource == "github:repo:acme/storefront-web")
    assert (walter.reviewer, walter.reviewer_rule) == ("wanda.webb@acme.com", "maintainer of team web")
    # Wanda maintains web: her own web grant cannot go to herself
    wanda = next(i for i in items if i.person == "wanda.webb@acme.com" and i.principal == "github:team/acme/web")
    assert wanda.reviewer == FALLBACK
    # Sam reaches platform's grants through the child team sre (no maintainer): platform's maintainer reviews
    sam = next(i for i in items if i.person == "sam.sato@acme.com" and i.principal == "github:team/acme/platform"
               and i.entitlement == "write")
    assert sam.teams == ("github:team/acme/sre", "github:team/acme/platform")
    assert (sam.reviewer, sam.reviewer_rule) == ("paul.platt@acme.com", "maintainer of team platform")
    # a direct grant has no team: the fallback reviewer
    direct = next(i for i in items if i.person == "max.mueller@acme.com" and i.entitlement == "admin")
    assert direct.reviewer == FALLBACK


def test_fixed_reviewers_share_the_queue_and_unassignable_items_are_flagged(store, review_config):
    reviewers = review.ReviewerRules(rules=("fixed",), fixed=("sue.sorensen@acme.com", "sid.shah@acme.com"))
    spec = review.spec_from_config(review_config, name="fixed", reviewers=reviewers, today=TODAY)
    items = review.items(store, review.create_campaign(store, review_config, spec, actor=CREATOR, today=TODAY).id)
    counts = Counter(i.reviewer for i in items)
    assert abs(counts["sue.sorensen@acme.com"] - counts["sid.shah@acme.com"]) <= 10
    # Sue's items go to Sid and Sid's to Sue
    assert {i.reviewer for i in items if i.person == "sue.sorensen@acme.com"} == {"sid.shah@acme.com"}
    assert {i.reviewer for i in items if i.person == "sid.shah@acme.com"} == {"sue.sorensen@acme.com"}
    # one fixed reviewer, no fallback: their own items have nobody
    lonely = review.ReviewerRules(rules=("fixed",), fixed=("sue.sorensen@acme.com",))
    spec = review.spec_from_config(review_config, name="lonely", reviewers=lonely, today=TODAY)
    items = review.items(store, review.create_campaign(store, review_config, spec, actor=CREATOR, today=TODAY).id)
    unassigned = [i for i in items if not i.reviewer]
    assert unassigned and {i.person for i in unassigned} == {"sue.sorensen@acme.com"}
    assert unassigned[0].reviewer_rule.startswith("unassigned")


def test_bad_reviewer_rules_and_scopes_are_clear_errors():
    with pytest.raises(InputError, match="reviewer rule 'boss'"):
        review.ReviewerRules(rules=("boss",))
    with pytest.raises(InputError, match="needs a list of reviewers"):
        review.ReviewerRules(rules=("fixed",))
    with pytest.raises(InputError, match="scope 'everything'"):
        review.Scope(kind="everything")


def test_previous_decision_and_unchanged_mark_and_drift_badge(store, review_config):
    october_spec = review.spec_from_config(review_config, name="October", today=TODAY)
    october = review.create_campaign(store, review_config, october_spec, actor=CREATOR, snapshot_id=1, today=TODAY)
    first = review.items(store, october.id)
    assert not any(i.is_new for i in first)  # nothing to compare October with
    assert not any(i.previous for i in first)
    walter = next(i for i in first if i.person == "walter.wong@acme.com" and i.entitlement == "write"
                  and i.resource == "github:repo:acme/storefront-web")
    review.decide(store, walter.id, "certify", actor="wanda.webb@acme.com", today=TODAY)
    review.close_campaign(store, october.id, actor=CREATOR, force=True, reason="test: the rest is revoked")

    november = _campaign(store, review_config, name="November")
    assert november.baseline_snapshot_id == 1  # the snapshot of the last closed campaign
    second = review.items(store, november.id)
    again = next(i for i in second if i.grant_key == walter.grant_key and i.person == walter.person)
    assert again.previous is not None
    assert again.previous.decision == "certify" and again.previous.by == "wanda.webb@acme.com"
    assert again.previous.unchanged and again.unchanged_since_certified
    assert again.previous.describe().startswith("certified 20") and again.previous.describe().endswith(
        "by wanda.webb@acme.com (campaign %d); unchanged since" % october.id)
    # what the close policy revoked is remembered as revoked, not as certified
    revoked = [i for i in second if i.previous and i.previous.decision == "revoke"]
    assert revoked and not any(i.unchanged_since_certified for i in revoked)
    # Nina joined web in November: her grants carry the drift badge
    nina = [i for i in second if i.person == "nina.nakamura@acme.com"]
    assert nina and all(i.is_new for i in nina) and all(i.previous is None for i in nina)
    assert not again.is_new

    drift = _campaign(store, review_config, name="drift", kind="drift")
    drift_items = review.items(store, drift.id)
    assert drift_items and all(i.is_new for i in drift_items)
    assert {i.person for i in drift_items} >= {"nina.nakamura@acme.com"}
    assert len(drift_items) == len([i for i in second if i.is_new])


def test_drift_scope_needs_a_closed_campaign(store, review_config):
    with pytest.raises(review.ReviewError, match="needs a closed campaign"):
        _campaign(store, review_config, kind="drift")


def test_template_campaign_is_created_once_per_period(store, review_config):
    first, created = review.create_from_template(store, review_config, "quarterly", actor="cron", today=TODAY)
    assert created and first.name == "Quarterly production review 2026-Q4"
    assert first.template == "quarterly" and first.period == "2026-Q4"
    assert first.due.isoformat() == "2026-12-11"  # due_days = 21
    again, created = review.create_from_template(store, review_config, "quarterly", actor="cron", today=TODAY)
    assert not created and again.id == first.id
    from datetime import date

    nextq, created = review.create_from_template(store, review_config, "quarterly", actor="cron",
                                                 today=date(2027, 1, 2))
    assert created and nextq.period == "2027-Q1" and nextq.id != first.id
    with pytest.raises(InputError, match="'monthly' is not in \\[campaigns.templates\\] \\(quarterly\\)"):
        review.create_from_template(store, review_config, "monthly", actor="cron", today=TODAY)
