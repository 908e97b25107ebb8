"""The Acme sample: every seeded finding is found, with a path naming each hop, and nothing else.

Each expected finding says why Acme has it; if the demo or a rule changes, this list is
the place to decide whether the change is intended.
"""

from __future__ import annotations

import pytest

from foureyes.analysis import analyze, roster_baseline
from foureyes.connectors.demo import TAKEN_AT, build, demo_config
from foureyes.drift import compare
from foureyes.model import Snapshot

STOREFRONT = "app:storefront"
ROSTER_AFTER = {
    # the HR roster and Okta say they left; their GitHub accounts still push and deploy
    ("FE-ROS-001", "omar.osman@acme.com", "any"),  # terminated, Okta deprovisioned, still in team web
    ("FE-ROS-001", "fatima.farouk@acme.com", "any"),  # end date passed, HR and Okta not updated
    ("FE-ROS-003", "pedro.pinto@acme.com", "any"),  # moved Payments -> Data, still in team payments
    ("FE-ROS-004", "", "github:team/acme/web"),  # synchronised from Okta "Engineering - Web", Omar still in it
}
EXPECTED_AFTER = ROSTER_AFTER | {
    # accounts with production capabilities that belong to nobody in the roster (unlinked too:
    # FE-ID-001 stays quiet for them, FE-ROS-002 says more)
    ("FE-ROS-002", "aws:arn:aws:iam::111111111111:user/ci-legacy", "any"),  # CI user in group deployers, no owner
    ("FE-ROS-002", "github:contractor-jq", "any"),  # outside collaborator without SAML, deploys storefront
    # posture
    ("FE-POS-001", "", "github:environment:acme/storefront-web/production"),  # no required reviewer
    ("FE-POS-002", "", "github:repo:acme/deploy-tools"),  # unprotected default branch
    ("FE-POS-003", "", "github:repo:acme/payments-api"),  # admins not enforced
    ("FE-POS-004", "", "aws:arn:aws:iam::111111111111:role/gha-legacy-deploy"),  # trusts repo:acme/deploy-tools:*
    ("FE-POS-004", "", "gcp:serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com"),  # whole-repo WIF
    # push + deploy storefront: the no-reviewer environment and the whole-repo workload identity
    ("FE-SOD-001", "github:contractor-jq", STOREFRONT),
    ("FE-SOD-001", "nina.nakamura@acme.com", STOREFRONT),  # joined team web in November
    ("FE-SOD-001", "olivia.okafor@acme.com", STOREFRONT),  # org owner
    ("FE-SOD-001", "omar.osman@acme.com", STOREFRONT),
    ("FE-SOD-001", "owen.iverson@acme.com", STOREFRONT),  # org owner
    ("FE-SOD-001", "walter.wong@acme.com", STOREFRONT),
    ("FE-SOD-001", "wanda.webb@acme.com", STOREFRONT),
    # SREs review storefront-api's production and may approve their own runs
    ("FE-SOD-001", "sam.sato@acme.com", STOREFRONT),
    ("FE-SOD-001", "sid.shah@acme.com", STOREFRONT),
    ("FE-SOD-001", "sue.sorensen@acme.com", STOREFRONT),
    ("FE-SOD-004", "sam.sato@acme.com", "repo:acme/storefront-api"),
    ("FE-SOD-004", "sid.shah@acme.com", "repo:acme/storefront-api"),
    ("FE-SOD-004", "sue.sorensen@acme.com", "repo:acme/storefront-api"),
    # push analytics (no app), deploy Cloud Run in production with actAs
    ("FE-SOD-002", "priya.patel@acme.com", "any"),
    # unreviewed code + production deploy of the same app
    ("FE-SOD-003", "max.mueller@acme.com", "app:payments"),  # repo admin, admins not enforced, ProdDeployer
    ("FE-SOD-003", "olivia.okafor@acme.com", "app:payments"),
    ("FE-SOD-003", "owen.iverson@acme.com", "app:payments"),  # admin bypass on payments-worker's environment
    ("FE-SOD-003", "olivia.okafor@acme.com", "app:platform"),  # deploy-tools: unprotected + wildcard OIDC role
    ("FE-SOD-003", "owen.iverson@acme.com", "app:platform"),
    ("FE-SOD-003", "paul.platt@acme.com", "app:platform"),
    ("FE-SOD-003", "ravi.rao@acme.com", "app:platform"),
    ("FE-SOD-003", "sam.sato@acme.com", "app:platform"),  # team sre is a child of team platform
    ("FE-SOD-003", "sid.shah@acme.com", "app:platform"),
    ("FE-SOD-003", "sue.sorensen@acme.com", "app:platform"),
    # access administration of production clouds + code
    ("FE-SOD-005", "gina.garcia@acme.com", "any"),  # roles/iam.securityAdmin inherited from the GCP org
    ("FE-SOD-005", "olivia.okafor@acme.com", "any"),  # SSO AdministratorAccess
}
# What happened in the quarter before the "after" snapshot (demo/activity.py); "before" read no activity
PROVEN = {
    ("FE-ACT-001", "max.mueller@acme.com", "change:acme/payments-api#1135"),  # merged alone, deployed it
    ("FE-ACT-002", "max.mueller@acme.com", "change:acme/payments-api#1135"),  # the admin merge
    ("FE-ACT-002", "rita.reyes@acme.com", "bypass:acme/payments-worker/rule-suites/880022"),  # release bypass
    ("FE-ACT-003", "sam.sato@acme.com", "deployment:acme/storefront-api/deployments/7000619"),  # approved his own
    ("FE-ACT-004", "olivia.okafor@acme.com", "cloud-deploy:demo-ct-hand"),  # rolled payments by hand (CloudTrail)
    # the October break-glass use: no ticket in the session name, a four-hour session (max 1h)
    ("FE-EMG-001", "alex.adeyemi@acme.com", "use:prod-breakglass:demo-ct-bg-1021"),
    ("FE-EMG-002", "alex.adeyemi@acme.com", "use:prod-breakglass:demo-ct-bg-1021"),
}
EXPECTED_BEFORE = EXPECTED_AFTER - ROSTER_AFTER - {("FE-SOD-001", "nina.nakamura@acme.com", STOREFRONT)}
EXPECTED_AFTER = EXPECTED_AFTER | PROVEN


@pytest.fixture(scope="module")
def analyses():
    config = demo_config()
    out = {}
    baseline = None
    for n, stage in enumerate(("before", "after"), 1):
        snapshot = Snapshot(id=n, taken_at=TAKEN_AT[stage], label=stage, sources=tuple(build(stage, config)))
        out[stage] = analyze(snapshot, config, waivers=[], baseline=baseline)
        baseline = roster_baseline(snapshot, "the October snapshot")  # movers are measured against it
    return out


def _triples(analysis):
    return {(f.rule.id, f.person or "", f.scope) if f.person else (f.rule.id, "", f.scope) for f in analysis.findings}


def _key(f):
    return (f.rule.id, f.person if f.person else "", f.scope)


@pytest.mark.parametrize("expected", sorted(EXPECTED_AFTER))
def test_each_seeded_finding_is_found(analyses, expected):
    found = {_key(f): f for f in analyses["after"].findings}
    assert expected in found, f"{expected} was not found"


def test_nothing_unseeded_is_reported(analyses):
    assert {_key(f) for f in analyses["after"].findings} == EXPECTED_AFTER
    assert {_key(f) for f in analyses["before"].findings} == EXPECTED_BEFORE


def test_every_finding_path_names_each_hop(analyses):
    analysis = analyses["after"]
    for finding in analysis.findings:
        if finding.rule.kind != "conflict":
            continue
        assert finding.evidence, finding
        for _, holdings in finding.evidence:
            for holding in holdings:
                steps = analysis.path(holding)
                assert steps[0].kind == "person" and steps[-1].kind == "capability"
                assert steps[-1].node == holding.capability
                assert any(s.kind == "grant" for s in steps), steps
                for step in steps[1:-1]:
                    assert step.node and step.how, f"hop without an explanation in {finding.id}: {step}"


def _path_text(analysis, person, capability, resource):
    holding = next(h for h in analysis.holdings(person) if h.capability == capability and h.resource == resource)
    return [str(s) for s in analysis.path(holding)]


def test_path_through_team_no_reviewer_environment_and_workload_identity(analyses):
    path = _path_text(analyses["after"], "nina.nakamura@acme.com", "deploy.run", "gcp:project:acme-prod-web")
    assert path[0] == "Nina Nakamura <nina.nakamura@acme.com>"
    assert path[1].startswith("Nina Nakamura (linked by SAML identity nameId nina.nakamura@acme.com")
    assert path[2] == "team web (member of team web)"
    assert path[3] == ("job in environment production of acme/storefront-web (can push acme/storefront-web "
                       "and environment production has no required reviewer)")
    assert path[4].startswith("workload identity principalSet attribute.repository/acme/storefront-web")
    assert path[5].startswith("service account web-deployer (roles/iam.workloadIdentityUser")
    assert path[6].startswith("roles/run.admin on acme-prod-web")
    assert path[7] == "deploy.run (run.services.update)"


def test_path_through_nested_team_and_wildcard_oidc_role(analyses):
    path = _path_text(analyses["after"], "sam.sato@acme.com", "deploy.run", "aws:account:111111111111")
    assert path[2:5] == [
        "team sre (member of team sre)",
        "team platform (parent of team sre)",
        "workflow on a new branch of acme/deploy-tools (can push a branch of acme/deploy-tools and run a workflow on it)",
    ]
    assert path[5].startswith("OIDC subject repo:acme/deploy-tools:*")
    assert path[6].startswith("role gha-legacy-deploy in acme-prod (trust policy: token.actions.githubusercontent.com:sub StringLike")
    assert path[-1] == "deploy.run (codedeploy:CreateDeployment)"


def test_role_cycle_is_followed_without_looping(analyses):
    path = _path_text(analyses["after"], "alex.adeyemi@acme.com", "access.admin", "aws:account:111111111111")
    assert [p.split(" (")[0] for p in path[1:4]] == [
        "IAM user alex in acme-staging", "role ops-breakglass in acme-prod", "role ops-admin in acme-prod"]
    assert "aws:MultiFactorAuthPresent" in path[2]  # the unknown condition is shown, not assumed false


def test_drift_between_demo_snapshots_is_exactly_the_seeded_changes(analyses):
    d = compare(analyses["before"], analyses["after"])
    added = {(g.principal, g.entitlement, g.resource) for g in d.grants_added}
    removed = {(g.principal, g.entitlement, g.resource) for g in d.grants_removed}
    assert added == {
        ("github:bob-docs", "write", "github:repo:acme/docs"),
        ("github:bob-docs", "merge unreviewed", "github:repo:acme/docs"),  # docs needs no approval
        ("aws:arn:aws:iam::222222222222:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_StagingDeployer_a1b2c3d4",
         "policy AmazonECS_FullAccess", "aws:account:222222222222"),
        ("gcp:user:priya.patel@acme.com", "roles/viewer", "gcp:project:acme-staging-web"),
    }
    assert removed == {
        ("github:leo-leaves", "write", "github:repo:acme/payments-worker"),
        ("aws:arn:aws:iam::111111111111:user/leo", "policy ReadOnlyAccess", "aws:account:111111111111"),
    }
    assert {(f.rule.id, f.person or f.scope) for f in d.findings_added} == {
        ("FE-SOD-001", "nina.nakamura@acme.com"),
        *((rule, person or scope) for rule, person, scope in ROSTER_AFTER)}
    assert d.findings_removed == ()
    people_gaining = {h.person for h in d.capabilities_added}
    people_losing = {h.person for h in d.capabilities_removed}
    assert people_gaining == {"nina.nakamura@acme.com", "bob.brown@acme.com"}
    assert people_losing == {"leo.lindqvist@acme.com"}


def test_identities_of_the_demo(analyses):
    ids = analyses["after"].identities
    unlinked = {p.key for p in ids.unlinked}
    assert unlinked == {"aws:arn:aws:iam::111111111111:user/ci-legacy", "github:build-bot",
                        "github:contractor-jq", "github:dkim", "github:jsmith-acme"}
    omar = ids.people["omar.osman@acme.com"]
    methods = {a.principal: a.method for a in omar.accounts}
    assert methods == {"github:omar-web": "saml", "gcp:user:omar.osman@acme.io": "alias"}
    assert ids.people["temp.consultant@gmail.com"].external
    olivia = {a.principal for a in ids.people["olivia.okafor@acme.com"].accounts}
    assert olivia == {"github:olivia-ops", "aws:sso:d-9067c1a2b3:user/olivia.okafor"}


def test_the_roster_of_the_demo(analyses):
    """Leavers, a mover and the synchronised team that drifted, with what each finding says."""
    analysis = analyses["after"]
    found = {(f.rule.id, f.person or f.scope): f for f in analysis.findings}
    omar = found[("FE-ROS-001", "omar.osman@acme.com")]
    assert omar.facts["left_on"] == "2026-10-23" and omar.facts["days_since_leaving"] == 10
    assert omar.facts["status_reason"] == "roster: Terminated; okta: DEPROVISIONED"
    assert omar.facts["accounts"] == ["github:omar-web"]
    assert {h.capability for h in omar.holdings} >= {"code.push", "deploy.run"}  # every capability, not five
    assert len(omar.holdings) == len(analysis.holdings("omar.osman@acme.com"))
    fatima = found[("FE-ROS-001", "fatima.farouk@acme.com")]
    assert fatima.facts["status_reason"] == "end date 2026-10-30 has passed"
    pedro = found[("FE-ROS-003", "pedro.pinto@acme.com")]
    assert (pedro.facts["department_then"], pedro.facts["department_now"]) == ("Payments", "Data")
    assert {h.resource for h in pedro.holdings} >= {"github:repo:acme/payments-api"}
    web = found[("FE-ROS-004", "github:team/acme/web")]
    assert web.facts["idp_label"] == "Engineering - Web" and web.facts["extra"] == ["omar.osman@acme.com"]
    people = analysis.identities.people
    assert people["omar.osman@acme.com"].status == "terminated"
    assert people["wanda.webb@acme.com"].roster.manager == "olivia.okafor@acme.com"
    assert people["github:contractor-jq"].status == "not in roster"
    # Leo left too, but nothing of his reaches a capability any more: no finding
    assert not any(f.person == "leo.lindqvist@acme.com" for f in analysis.findings)
