"""Exact remediation commands for each kind of grant, on the Acme demo's real shapes."""

from __future__ import annotations

import shlex

import pytest

from foureyes.analysis import analyze
from foureyes.connectors.demo import build, demo_config
from foureyes.export.remediation import ALL, ME, remedies
from foureyes.model import Edge, Grant, Principal, Resource, Snapshot, SourceResult


@pytest.fixture(scope="module")
def acme():
    snapshot = Snapshot(2, "t", "", tuple(build("after")))
    return analyze(snapshot, demo_config(), waivers=[])


def _remedies(analysis, person, capability, resource):
    holding = next(h for h in analysis.holdings(person) if h.capability == capability and h.resource == resource)
    edges, grant = analysis.graph.route(holding)
    return remedies(analysis.snapshot, grant, edges)


def test_team_grant_offers_both_options(acme):
    found = _remedies(acme, "pedro.pinto@acme.com", "code.push", "github:repo:acme/payments-worker")
    assert [r.affects for r in found] == [ME, ALL]
    assert found[0].commands == ("gh api -X DELETE /orgs/acme/teams/payments/memberships/pedro-pay",)
    assert found[1].commands == ("gh api -X DELETE /orgs/acme/teams/payments/repos/acme/payments-worker",)


def test_a_team_synchronised_from_an_okta_group_is_fixed_in_okta(acme):
    """Team web takes its members from Okta group "Engineering - Web": removing Walter in GitHub
    would be undone by the next sync, so the ticket names the Okta group."""
    found = _remedies(acme, "walter.wong@acme.com", "code.push", "github:repo:acme/storefront-web")
    assert [r.affects for r in found] == [ME, ALL]
    assert found[0].title == "Remove walter-web from Okta group Engineering - Web (team web is synchronised from it)"
    assert found[0].commands == ()  # no command of ours writes to Okta
    assert "undone by the next synchronisation" in found[0].note


def test_a_leaver_the_okta_group_dropped_but_the_team_kept_is_removed_in_github(acme):
    found = _remedies(acme, "omar.osman@acme.com", "code.push", "github:repo:acme/storefront-web")
    assert found[0].title == ("Remove omar-web from team web, and check its synchronisation with Okta group "
                              "Engineering - Web")
    assert found[0].commands == ("gh api -X DELETE /orgs/acme/teams/web/memberships/omar-web",)


def test_direct_collaborator(acme):
    (only,) = _remedies(acme, "github:contractor-jq", "code.push", "github:repo:acme/storefront-web")
    assert only.commands == ("gh api -X DELETE /repos/acme/storefront-web/collaborators/contractor-jq",)


def test_sso_group_membership_and_assignment(acme):
    found = _remedies(acme, "max.mueller@acme.com", "deploy.run", "aws:account:111111111111")
    assert found[0].title == "Remove Max Mueller (SSO) from SSO group payments-oncall"
    assert found[0].affects == ME
    assert "aws identitystore delete-group-membership --identity-store-id d-9067c1a2b3" in found[0].commands[0]
    assert found[1].affects == ALL  # the group's grant: its account assignment
    assert found[1].commands == (
        "aws sso-admin delete-account-assignment --instance-arn arn:aws:sso:::instance/ssoins-7223a1b2c3d4e5f6 "
        "--target-id 111111111111 --target-type AWS_ACCOUNT "
        "--permission-set-arn arn:aws:sso:::permissionSet/ssoins-7223a1b2c3d4e5f6/ps-proddeployer "
        "--principal-type GROUP --principal-id 9067c1a2b3-g-payments-oncall",)
    assert "Identity Center manages this role" in found[-1].note


def test_iam_group_membership(acme):
    found = _remedies(acme, "aws:arn:aws:iam::111111111111:user/ci-legacy", "deploy.run", "aws:account:111111111111")
    assert found[0].commands == ("aws iam remove-user-from-group --user-name ci-legacy --group-name deployers",)


def test_gcp_binding(acme):
    found = _remedies(acme, "priya.patel@acme.com", "deploy.run", "gcp:project:acme-prod-web")
    assert found[-1].commands == (
        "gcloud projects remove-iam-policy-binding acme-prod-web --member=user:priya.patel@acme.com "
        "--role=roles/run.developer",)


def test_hostile_names_are_quoted_and_cannot_inject_commands():
    evil_team = Principal("github", "team/acme/x;rm -rf ~", "team", "team x")
    alice = Principal("github", "alice$(id)", "user")
    repo = Resource("github", "repo", "acme/api`reboot`")
    grant = Grant("github", evil_team.key, "write", repo.key, ("code.push",), via="team")
    edge = Edge(alice.key, evil_team.key, "member-of", "member of team")
    snapshot = Snapshot(1, "t", "", (SourceResult("github", "github", (alice, evil_team), (repo,), (grant,), (edge,)),))
    for remedy in remedies(snapshot, grant, [edge]):
        for command in remedy.commands:
            words = shlex.split(command)
            assert "rm" not in words and not any(w.startswith("$(") for w in words)
            assert "'x;rm -rf ~'" in command or "'alice$(id)'" in command or "'acme/api`reboot`'" in command


def test_role_trust_gives_the_person_their_own_option_before_the_role_policy(acme):
    found = _remedies(acme, "alex.adeyemi@acme.com", "deploy.run", "aws:account:111111111111")
    assert found[0].title == "Remove alex from the trust policy of role ops-breakglass"
    assert found[0].affects == ME
    assert found[0].commands == (
        "aws iam get-role --role-name ops-breakglass --query Role.AssumeRolePolicyDocument --output json > trust.json",
        "aws iam update-assume-role-policy --role-name ops-breakglass --policy-document file://trust.json")
    assert "arn:aws:iam::222222222222:user/alex" in found[0].note
    # the second role in the chain is shared: only the first trust on the path is offered
    assert not any("ops-admin" in r.title and "trust" in r.title for r in found)
    assert found[-1].affects == ALL and "ops-admin" in found[-1].title


def test_an_owner_who_merges_unreviewed_can_be_demoted_or_the_branch_protected(acme):
    found = _remedies(acme, "olivia.okafor@acme.com", "code.merge_unreviewed", "github:repo:acme/deploy-tools")
    assert [r.affects for r in found] == [ME, ALL]
    assert found[0].commands == ("gh api -X PUT /orgs/acme/memberships/olivia-ops -f role=member",)
    assert "required_approving_review_count=1" in found[1].commands[1]
