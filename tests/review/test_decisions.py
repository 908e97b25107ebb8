"""Decisions and the independence guards: self-review, conflicted reviewers, second approvers, closing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from foureyes import review
from foureyes.store import audit
from foureyes.analysis import analyze

from .conftest import FALLBACK, TODAY

PRISCILLA, WANDA, PAUL = "priscilla.payne@acme.com", "wanda.webb@acme.com", "paul.platt@acme.com"
LATER = TODAY + timedelta(days=90)


@pytest.fixture
def campaign(store, review_config):
    spec = review.spec_from_config(review_config, name="Q4", today=TODAY)
    return review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)


def _item(store, campaign, **want):
    return next(i for i in review.items(store, campaign.id) if all(getattr(i, k) == v for k, v in want.items()))


def test_certify_revoke_defer_are_committed_with_an_audit_entry(store, campaign):
    pedro = [i for i in review.items(store, campaign.id) if i.person == "pedro.pinto@acme.com"]
    assert [i.reviewer for i in pedro] == [PRISCILLA, PRISCILLA]
    first = review.decide(store, pedro[0].id, "certify", actor=PRISCILLA, reason="needs it", note="checked with lead")
    second = review.decide(store, pedro[1].id, "revoke", actor=PRISCILLA.upper(), reason="left the team")
    assert first.item.state == "certify" and first.item.decided_by == PRISCILLA and first.item.version == 1
    assert second.item.state == "revoke" and second.decision.actor == PRISCILLA  # emails are case-insensitive
    assert [n.text for n in review.notes(store, pedro[0].id)] == ["checked with lead"]
    deferred = review.decide(store, _item(store, campaign, person="max.mueller@acme.com", entitlement="admin").id,
                             "defer", actor=PRISCILLA)
    assert deferred.item.state == "defer"
    stored = review.decisions(store, campaign_id=campaign.id)
    assert [(d.item_id, d.decision, d.reason) for d in stored] == [
        (pedro[0].id, "certify", "needs it"), (pedro[1].id, "revoke", "left the team"),
        (deferred.item.id, "defer", "")]
    entries = audit.entries(store, campaign_id=campaign.id)
    assert [(e.action, e.item_id, e.decision) for e in entries[1:]] == [
        ("decide", d.item_id, d.decision) for d in stored]
    assert all(e.snapshot_digest == campaign.snapshot_digest for e in entries)
    assert [d.audit_seq for d in stored] == [e.seq for e in entries[1:]]
    prog = review.progress(store, campaign.id)
    assert (prog.certified, prog.revoked, prog.deferred, prog.done) == (1, 1, 1, 2)
    assert prog.unresolved == prog.total - 2
    assert audit.verify(store).ok and review.check_against_audit(store) == []


def test_nobody_decides_an_item_about_their_own_accounts(store, review_config):
    # Priscilla is the fallback reviewer here, so she may decide any item, except her own
    config = review_config
    spec = review.spec_from_config(config, name="self", today=TODAY,
                                   reviewers=review.ReviewerRules(rules=("app-owner",), fallback=PRISCILLA))
    campaign = review.create_campaign(store, config, spec, actor="security@acme.com", today=TODAY)
    own = [i for i in review.items(store, campaign.id) if i.person == PRISCILLA]
    assert own and all(i.reviewer == "" for i in own)  # no rule could assign them to anyone else
    with pytest.raises(review.SelfReview, match="it is about their own access") as err:
        review.decide(store, own[0].id, "certify", actor=PRISCILLA)
    assert "nobody reviews their own accounts" in str(err.value)
    # an account key of hers is her too
    with pytest.raises(review.SelfReview):
        review.decide(store, own[0].id, "certify", actor="github:priscilla-p")
    assert review.get_item(store, own[0].id).state == "pending"
    assert [e.action for e in audit.entries(store, campaign_id=campaign.id)] == ["campaign.new"]
    # and the fallback reviewer's queue leaves her own items out
    queue = review.reviewer_queue(store, campaign, PRISCILLA)
    assert queue and not [i for i in queue if i.person == PRISCILLA]


def test_only_the_assigned_or_fallback_reviewer_decides(store, campaign):
    item = _item(store, campaign, person="pedro.pinto@acme.com")
    with pytest.raises(review.NotAllowed, match=f"assigned to {PRISCILLA} or the fallback reviewer {FALLBACK}"):
        review.decide(store, item.id, "certify", actor=WANDA)
    assert review.decide(store, item.id, "certify", actor=FALLBACK).item.decided_by == FALLBACK


def test_a_conflicted_reviewer_is_warned_and_the_decision_is_marked(store, campaign):
    # Wanda owns storefront and can herself push and deploy it (FE-SOD-001): so can Walter
    walter = _item(store, campaign, person="walter.wong@acme.com", entitlement="write",
                   resource="github:repo:acme/storefront-web")
    assert walter.reviewer == WANDA and [c.rule for c in walter.conflicts] == ["FE-SOD-001"]
    outcome = review.decide(store, walter.id, "certify", actor=WANDA)
    assert outcome.decision.reviewer_conflicted
    assert "FE-SOD-001" in outcome.decision.conflict_note and "app:storefront" in outcome.decision.conflict_note
    assert len(outcome.warnings) == 1 and "same conflicting combination" in outcome.warnings[0]
    assert audit.entries(store, campaign_id=campaign.id)[-1].detail["reviewer_conflicted"] is True
    # the fallback reviewer holds no conflict: not marked
    other = _item(store, campaign, person="omar.osman@acme.com", entitlement="write",
                  resource="github:repo:acme/storefront-web")
    clean = review.decide(store, other.id, "certify", actor=FALLBACK)
    assert not clean.decision.reviewer_conflicted and clean.warnings == ()
    # an item without conflicts never marks the reviewer
    pedro = _item(store, campaign, person="pedro.pinto@acme.com")
    assert not review.decide(store, pedro.id, "certify", actor=PRISCILLA).decision.reviewer_conflicted


def test_an_exception_needs_reason_expiry_and_a_second_approver(store, review_config, campaign):
    walter = _item(store, campaign, person="walter.wong@acme.com", entitlement="write",
                   resource="github:repo:acme/storefront-web")
    with pytest.raises(review.ReviewError, match="needs a --reason"):
        review.decide(store, walter.id, "exception", actor=WANDA, expires=LATER, today=TODAY)
    with pytest.raises(review.ReviewError, match="needs an --expires"):
        review.decide(store, walter.id, "exception", actor=WANDA, reason="on call", today=TODAY)
    with pytest.raises(review.ReviewError, match="must be in the future"):
        review.decide(store, walter.id, "exception", actor=WANDA, reason="on call", expires=TODAY, today=TODAY)
    with pytest.raises(review.ReviewError, match="at most 180 days"):
        review.decide(store, walter.id, "exception", actor=WANDA, reason="on call",
                      expires=TODAY + timedelta(days=181), today=TODAY)
    requested = review.decide(store, walter.id, "exception", actor=WANDA, reason="storefront on-call rota",
                              expires=LATER, today=TODAY)
    request = requested.exception
    assert request.status == "pending" and request.requested_by == WANDA
    assert request.covers == (("FE-SOD-001", "app:storefront"),) and request.person == "walter.wong@acme.com"

    def walter_finding(today=TODAY):
        snapshot = store.load_snapshot(campaign.snapshot_id)
        analysis = analyze(snapshot, review_config, extra_waivers=review.approved_waivers(store, today=today),
                           today=today)
        return next(f for f in analysis.findings if f.person == "walter.wong@acme.com" and f.rule.id == "FE-SOD-001")

    # pending: it does not count yet
    assert not walter_finding().covered
    assert review.progress(store, campaign.id).exception_waiting == 1
    with pytest.raises(review.SelfReview, match="requested by wanda.webb@acme.com: an exception needs a second person"):
        review.approve_exception(store, request.id, actor=WANDA, today=TODAY)
    with pytest.raises(review.SelfReview, match="about walter.wong@acme.com's own access"):
        review.approve_exception(store, request.id, actor="walter.wong@acme.com", today=TODAY)
    with pytest.raises(review.SelfReview):
        review.approve_exception(store, request.id, actor="github:walter-web", today=TODAY)
    approved = review.approve_exception(store, request.id, actor=FALLBACK, note="ok until the bot ships", today=TODAY)
    assert approved.exception.status == "approved" and approved.exception.approver == FALLBACK
    finding = walter_finding()
    assert finding.covered and finding.waiver.approver == FALLBACK and finding.waiver.requested_by == WANDA
    assert "exception %d" % request.id in finding.waiver.source
    # it stops counting when it expires
    assert not walter_finding(today=LATER + timedelta(days=1)).covered
    prog = review.progress(store, campaign.id)
    assert (prog.exception_waiting, prog.excepted) == (0, 1)
    actions = [e.action for e in audit.entries(store, campaign_id=campaign.id)]
    assert actions == ["campaign.new", "decide", "exception.approve"]
    with pytest.raises(review.ReviewError, match="is approved, not awaiting approval"):
        review.approve_exception(store, request.id, actor="sofia.silva@acme.com", today=TODAY)


def test_exception_approvers_list_and_rejection(store, review_config):
    from dataclasses import replace

    config = replace(review_config, campaigns=replace(review_config.campaigns, exception_approvers=["ciso@acme.com"]))
    spec = review.spec_from_config(config, name="approvers", today=TODAY)
    campaign = review.create_campaign(store, config, spec, actor="security@acme.com", today=TODAY)
    nina = _item(store, campaign, person="nina.nakamura@acme.com", entitlement="write",
                 resource="github:repo:acme/storefront-web")
    request = review.decide(store, nina.id, "exception", actor=WANDA, reason="r", expires=LATER, today=TODAY).exception
    with pytest.raises(review.NotAllowed, match="may not approve exceptions in campaign"):
        review.approve_exception(store, request.id, actor="sofia.silva@acme.com", today=TODAY)
    with pytest.raises(review.ReviewError, match="needs a --reason"):
        review.reject_exception(store, request.id, actor=FALLBACK, reason=" ")
    rejected = review.reject_exception(store, request.id, actor=FALLBACK, reason="fix the environment instead")
    assert rejected.exception.status == "rejected" and rejected.item.state == "pending"
    assert review.approved_waivers(store, today=TODAY) == []


def test_undo_restores_the_previous_state_and_a_bulk_decision_at_once(store, campaign):
    paul_queue = review.reviewer_queue(store, campaign, PAUL)
    target = paul_queue[0]
    review.decide(store, target.id, "revoke", actor=PAUL)
    review.decide(store, target.id, "certify", actor=PAUL)
    undone = review.undo_last(store, campaign.id, actor=PAUL)
    assert [o.item.state for o in undone] == ["revoke"]
    assert review.get_item(store, target.id).decided_by == PAUL
    undone = review.undo_last(store, campaign.id, actor=PAUL)
    assert [o.item.state for o in undone] == ["pending"] and undone[0].item.decided_by is None
    with pytest.raises(review.ReviewError, match="no decision to undo"):
        review.undo_last(store, campaign.id, actor=PAUL)

    chosen = review.ItemFilter.parse(["conflict=no", "entitlement=latent*"])
    selected = [i.id for i in paul_queue if chosen.matches(i)]
    assert len(selected) >= 3
    bulk = review.decide_many(store, selected, "certify", actor=PAUL)
    assert len(bulk.done) == len(selected) and not bulk.refused
    assert len({o.decision.bulk for o in bulk.done}) == 1
    undone = review.undo_last(store, campaign.id, actor=PAUL)
    assert sorted(o.item.id for o in undone) == sorted(selected)
    assert all(review.get_item(store, i).state == "pending" for i in selected)
    assert [d.undone_by for d in review.decisions(store, campaign_id=campaign.id)] == [PAUL] * (2 + len(selected))
    # someone else's later decision on the item blocks undoing yours
    review.decide(store, target.id, "certify", actor=PAUL)
    review.decide(store, target.id, "revoke", actor=FALLBACK)
    with pytest.raises(review.StaleItem, match="only the latest decision on an item can be undone"):
        review.undo_last(store, campaign.id, actor=PAUL)
    assert audit.verify(store).ok


def test_bulk_collects_refusals_and_commits_the_rest(store, review_config):
    spec = review.spec_from_config(review_config, name="bulk", today=TODAY,
                                   reviewers=review.ReviewerRules(rules=("app-owner",), fallback=PRISCILLA))
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    queue = [i.id for i in review.items(store, campaign.id) if i.app == "payments"]
    bulk = review.decide_many(store, queue, "certify", actor=PRISCILLA)
    refused = {i for i, _ in bulk.refused}
    assert refused == {i.id for i in review.items(store, campaign.id) if i.person == PRISCILLA and i.app == "payments"}
    assert all("own access" in why for _, why in bulk.refused)
    assert len(bulk.done) == len(queue) - len(refused)


def test_a_stale_view_cannot_overwrite_another_reviewers_decision(store, campaign):
    item = _item(store, campaign, person="pedro.pinto@acme.com")
    review.decide(store, item.id, "revoke", actor=FALLBACK, expect_version=item.version)
    with pytest.raises(review.StaleItem, match=f"revoke by {FALLBACK}"):
        review.decide(store, item.id, "certify", actor=PRISCILLA, expect_version=item.version)
    assert review.get_item(store, item.id).state == "revoke"


def test_closing_with_pending_items_needs_force_and_a_reason_then_follows_the_policy(store, review_config, campaign):
    items = review.items(store, campaign.id)
    pedro = [i for i in items if i.person == "pedro.pinto@acme.com"]
    review.decide(store, pedro[0].id, "certify", actor=PRISCILLA)
    review.decide(store, pedro[1].id, "defer", actor=PRISCILLA)
    with pytest.raises(review.ReviewError, match=r"has 110 unresolved items \(1 deferred, 109 pending\).*--force"):
        review.close_campaign(store, campaign.id, actor=FALLBACK)
    with pytest.raises(review.ReviewError, match="needs --reason"):
        review.close_campaign(store, campaign.id, actor=FALLBACK, force=True)
    closed, decided = review.close_campaign(store, campaign.id, actor=FALLBACK, force=True, reason="due date passed")
    assert closed.status == "closed" and closed.closed_by == FALLBACK and closed.close_reason == "due date passed"
    assert len(decided) == 110 and pedro[1].id in decided and pedro[0].id not in decided
    after = {i.id: i for i in review.items(store, campaign.id)}
    assert after[pedro[0].id].state == "certify" and after[pedro[1].id].state == "revoke"
    policy_rows = [d for d in review.decisions(store, campaign_id=campaign.id) if d.by_policy]
    assert len(policy_rows) == 110 and {d.decision for d in policy_rows} == {"revoke"}
    assert review.progress(store, campaign.id).unresolved == 0
    with pytest.raises(review.NotAllowed, match="is closed"):
        review.decide(store, pedro[0].id, "revoke", actor=PRISCILLA)
    with pytest.raises(review.NotAllowed, match="already closed"):
        review.close_campaign(store, campaign.id, actor=FALLBACK)
    actions = [e.action for e in audit.entries(store, campaign_id=campaign.id)]
    assert actions[-1] == "campaign.close" and actions.count("close.policy") == 110
    assert audit.verify(store).ok and review.check_against_audit(store) == []

    # the skip policy, and an exception still awaiting approval lapses
    spec = review.spec_from_config(review_config, name="skip", close_policy="skip", today=TODAY)
    other = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    walter = _item(store, other, person="walter.wong@acme.com", entitlement="write",
                   resource="github:repo:acme/storefront-web")
    request = review.decide(store, walter.id, "exception", actor=WANDA, reason="r", expires=LATER,
                            today=TODAY).exception
    _, decided = review.close_campaign(store, other.id, actor=FALLBACK, force=True, reason="end of quarter")
    assert walter.id in decided and review.get_item(store, walter.id).state == "skipped"
    assert review.exceptions(store, campaign_id=other.id)[0].status == "lapsed" and request.id
    assert review.progress(store, other.id).skipped == len(decided)


def test_closing_a_fully_decided_campaign_needs_no_force(store, review_config):
    spec = review.spec_from_config(review_config, name="small", today=TODAY,
                                   scope=review.Scope(kind="all", people=("pedro.pinto@acme.com",)))
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    for item in review.items(store, campaign.id):
        review.decide(store, item.id, "certify", actor=item.reviewer or FALLBACK)
    closed, decided = review.close_campaign(store, campaign.id, actor=FALLBACK)
    assert closed.status == "closed" and decided == []


def test_notes_on_any_item_are_audited(store, campaign):
    item = _item(store, campaign, person="pedro.pinto@acme.com")
    review.add_note(store, item.id, "asked Pedro's lead", actor="sofia.silva@acme.com")
    with pytest.raises(review.ReviewError, match="needs some text"):
        review.add_note(store, item.id, "  ", actor="sofia.silva@acme.com")
    assert [(n.actor, n.text) for n in review.notes(store, item.id)] == [("sofia.silva@acme.com", "asked Pedro's lead")]
    last = audit.entries(store)[-1]
    assert (last.action, last.item_id, last.reason) == ("note", item.id, "asked Pedro's lead")


def test_item_filter_terms():
    with pytest.raises(Exception, match="expected KEY=VALUE"):
        review.ItemFilter.parse(["colour=red"])
    with pytest.raises(Exception, match="new takes yes or no"):
        review.ItemFilter.parse(["new=maybe"])
    assert review.ItemFilter.parse(["app=pay*", "new=no"]).terms == (("app", "pay*"), ("new", "no"))


def test_date_boundaries_use_the_given_day(store, campaign):
    # an expiry exactly at the campaign's limit is accepted
    walter = _item(store, campaign, person="walter.wong@acme.com", entitlement="write",
                   resource="github:repo:acme/storefront-web")
    limit = TODAY + timedelta(days=180)
    outcome = review.decide(store, walter.id, "exception", actor=WANDA, reason="r", expires=limit, today=TODAY)
    assert outcome.exception.expires == limit
    assert isinstance(outcome.exception.expires, date)


def test_approvable_by_lists_only_what_a_second_person_may_approve(store, campaign):
    walter = _item(store, campaign, person="walter.wong@acme.com", entitlement="write",
                   resource="github:repo:acme/storefront-web")
    request = review.decide(store, walter.id, "exception", actor=WANDA, reason="r", expires=LATER,
                            today=TODAY).exception
    assert review.approvable_by(store, campaign, WANDA) == []  # she requested it
    assert review.approvable_by(store, campaign, "walter.wong@acme.com") == []  # it is about him
    [(found, item)] = review.approvable_by(store, campaign, FALLBACK)
    assert found.id == request.id and item.id == walter.id
