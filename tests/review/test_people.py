"""One notion of "the same person" for every guard (issue 16), on SQLite and PostgreSQL: `--as`,
fixed and fallback reviewers, exception requesters and approvers resolve through the identity
links the analysis makes (linked accounts, e-mail and domain aliases), folded the same way in
Python and in SQL (case, whitespace, Unicode normalisation, ß)."""

from __future__ import annotations

from datetime import date

import pytest

from foureyes import review

from .conftest import TODAY

OMAR = "omar.osman@acme.com"
# Omar's GCP account omar.osman@acme.io is linked to him (domain alias acme.io → acme.com)
OMAR_SPELLINGS = ("omar.osman@acme.io", " Omar.Osman@Acme.Com ", "github:omar-web", "GCP:user:omar.osman@acme.io",
                  "\uff4f\uff4d\uff41\uff52.osman@acme.com")  # fullwidth "omar": NFKC makes it ASCII
WANDA_SPELLINGS = ("Wanda.Webb@acme.io", "github:wanda-web", "WANDA.WEBB@ACME.COM\t")
STRAUSS = "strauß@acme.com"  # casefolds to strauss@acme.com; SQL lower() would leave the ß


def test_every_spelling_of_a_person_is_the_same_person(store, review_config):
    spec = review.spec_from_config(review_config, name="aliases", today=TODAY, reviewers=review.ReviewerRules(
        rules=("fixed",), fixed=("omar.osman@acme.io", STRAUSS, "wanda.webb@acme.com")))
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    items = review.items(store, campaign.id)
    omars = [i for i in items if i.person == OMAR]
    # a fixed reviewer spelled by a linked account is never assigned their own items
    assert omars and all(i.reviewer and i.reviewer_key != OMAR for i in omars)
    assert {i.reviewer_key for i in items} == {OMAR, "strauss@acme.com", "wanda.webb@acme.com"}

    # self-review is refused for every spelling, before anything else
    for spelling in OMAR_SPELLINGS:
        with pytest.raises(review.SelfReview, match="about their own access"):
            review.decide(store, omars[0].id, "certify", actor=spelling)

    # Omar decides his own queue by any spelling; one that shares the subject's conflict is flagged
    walter = next(i for i in items if i.reviewer_key == OMAR and i.person == "walter.wong@acme.com"
                  and any(c.rule == "FE-SOD-001" for c in i.conflicts))
    outcome = review.decide(store, walter.id, "certify", actor="github:omar-web")
    assert outcome.decision.reviewer_conflicted and outcome.decision.actor_key == OMAR
    assert "holds the same conflicting combination (FE-SOD-001" in outcome.warnings[0]
    assert {i.id for i in review.reviewer_queue(store, campaign, "omar.osman@acme.io")} == \
        {i.id for i in review.reviewer_queue(store, campaign, OMAR)}

    # ß: the queue, the decision and undo agree whichever way it is written
    theirs = review.reviewer_queue(store, campaign, "STRAUSS@acme.com")
    assert theirs and [i.id for i in theirs] == [i.id for i in review.reviewer_queue(store, campaign, STRAUSS)]
    decided = review.decide(store, theirs[0].id, "revoke", actor=STRAUSS, reason="gone")
    assert decided.decision.actor == STRAUSS and decided.decision.actor_key == "strauss@acme.com"
    undone = review.undo_last(store, campaign.id, actor=" Strauss@ACME.com")
    assert [o.item.id for o in undone] == [theirs[0].id] and undone[0].item.state == "pending"
    assert review.progress(store, campaign.id, reviewer="strauss@acme.com").total == len(theirs)

    # exceptions: neither the requester nor the subject approves, under any spelling; a conflicted approver is flagged
    wandas = next(i for i in items if i.reviewer_key == "wanda.webb@acme.com" and i.person != OMAR)
    requested = review.decide(store, wandas.id, "exception", actor="wanda.webb@acme.com", reason="rota",
                              expires=date(2027, 3, 31), today=TODAY).exception
    for spelling in WANDA_SPELLINGS:
        with pytest.raises(review.SelfReview, match="an exception needs a second person"):
            review.approve_exception(store, requested.id, actor=spelling, today=TODAY)
    assert review.approvable_by(store, campaign, "Wanda.Webb@acme.io") == []
    on_omar = review.decide(store, omars[0].id, "exception", actor=omars[0].reviewer, reason="on call",
                            expires=date(2027, 3, 31), today=TODAY).exception
    for spelling in OMAR_SPELLINGS:
        with pytest.raises(review.SelfReview, match="own access"):
            review.approve_exception(store, on_omar.id, actor=spelling, today=TODAY)
    assert on_omar.id not in [e.id for e, _ in review.approvable_by(store, campaign, "github:omar-web")]
    walters = next(i for i in items if i.person == "walter.wong@acme.com" and i.reviewer_key == "strauss@acme.com"
                   and any(c.rule == "FE-SOD-001" for c in i.conflicts))
    on_walter = review.decide(store, walters.id, "exception", actor=STRAUSS, reason="handover", today=TODAY,
                              expires=date(2027, 3, 31)).exception
    approved = review.approve_exception(store, on_walter.id, actor="Wanda.Webb@acme.io", today=TODAY)
    assert approved.exception.approver_key == "wanda.webb@acme.com"
    assert "holds the same conflicting combination (FE-SOD-001" in approved.warnings[0]

    # and the records agree with the chain on this backend
    assert review.verify_audit(store).ok


def test_scope_and_fallback_resolve_through_links_too(store, review_config):
    # `campaign new --person omar.osman@acme.io --fallback github:omar-web`: Omar's items, none to Omar
    spec = review.spec_from_config(review_config, name="omar", today=TODAY, scope=review.Scope(people=("omar.osman@acme.io",)),
                                   reviewers=review.ReviewerRules(rules=("fixed",), fixed=("omar.osman@acme.io",),
                                                                  fallback="github:omar-web"))
    campaign = review.create_campaign(store, review_config, spec, actor="security@acme.com", today=TODAY)
    items = review.items(store, campaign.id)
    assert items and {i.person for i in items} == {OMAR}
    assert {(i.reviewer, i.reviewer_rule) for i in items} == {
        ("", "unassigned: each fixed reviewer is the subject; the fallback reviewer is the subject")}
    assert review.reviewer_queue(store, campaign, "omar.osman@acme.io") == []
