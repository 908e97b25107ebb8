"""GitHub semantics foureyes used to get wrong (issue 23), against the fake server.

The real PyGithub client and the connector's GraphQL talk HTTP to tests/fakes/github_server.py,
which serves tests/fixtures/github/semantics.yaml, read once for the module. Each test names
the GitHub documentation it follows; docs/reference-notes.md collects them.
"""

from __future__ import annotations

import pytest

from fakes import github_config, holdings, reach, unlatent
from fakes.github_server import FakeGitHub, load_fixture
from foureyes.connectors.github.connector import GitHubConnector
from foureyes.model import CODE_APPROVE, CODE_MERGE_UNREVIEWED, DEPLOY_RUN, EdgeKind, Kind, SourceResult

TIERS = """
[tiers.production]
github_environments = ["production"]
"""
REPO = "github:repo:zeta/"
ENV = "github:environment:zeta/"


@pytest.fixture(scope="module")
def snapshot() -> tuple[SourceResult, dict[str, int]]:
    mp = pytest.MonkeyPatch()
    mp.setenv("GITHUB_TOKEN", "ghp_semantics_token_0000")
    try:
        with FakeGitHub(load_fixture("semantics.yaml")) as gh:
            config = github_config(gh.url, org="zeta", tiers=TIERS)
            result = GitHubConnector(config.sources.github, config=config).collect()
            gh.settle()
            return result, gh.stats.per_path
    finally:
        mp.undo()


@pytest.fixture(scope="module")
def zeta(snapshot) -> SourceResult:
    return snapshot[0]


def merges(result: SourceResult, login: str, repo: str) -> list:
    return unlatent(holdings(result, login, CODE_MERGE_UNREVIEWED).get(REPO + repo, []))


def gaps(result: SourceResult, repo: str) -> list[str]:
    return [g.reason for g in result.gaps if g.resource == REPO + repo]


def triggers(result: SourceResult, ctx: str) -> dict[str, str]:
    return {e.src: e.label for e in result.edges if e.kind == EdgeKind.CAN_TRIGGER and e.dst == ctx}


# ------------------------------------------------------------------ 1. layers combine per person


def test_a_person_on_both_bypass_lists_by_different_routes_lands_alone(zeta):
    """GitHub, "About rulesets" (Layering): rulesets and branch protection rules all apply, and
    the most restrictive wins, so one account must get past the classic rule's "Allow specified
    actors to bypass required pull requests" and the ruleset's bypass list. Both lists name teams
    and users ("About protected branches"; "Creating rulesets for a repository": bypass list)."""
    # alice: the classic list through team reviewers-a, the ruleset's directly
    (alice,) = merges(zeta, "alice", "combined")
    assert alice.principal == "github:alice"
    assert "bypass list for pull request reviews of branch protection rule main through team reviewers-a" in alice.detail
    assert "ruleset 'main review' bypass (user alice)" in alice.detail
    # bob: the classic list directly, the ruleset's through team platform
    (bob,) = merges(zeta, "bob", "combined")
    assert "ruleset 'main review' bypass (team platform), mode pull_request" in bob.detail
    # on one list only, while the other layer requires a review: not alone
    for login in ("carol", "sue"):
        assert merges(zeta, login, "combined") == [], login
    # the team on one list does not pass the other layer for all its members
    assert not [g for g in zeta.grants if g.principal == "github:team/zeta/platform"
                and g.entitlement == "merge unreviewed" and g.resource == REPO + "combined"]


def test_an_outside_collaborator_named_by_user_id_is_resolved_from_the_collaborators(zeta):
    """REST "Get a repository ruleset": bypass_actors[].actor_id is the user's id; outside
    collaborators are not organisation members, so the id is found in "List repository
    collaborators" (affiliation=direct), which carries each user's id."""
    (ext,) = merges(zeta, "ext", "combined")
    assert "ruleset 'main review' bypass (user ext)" in ext.detail
    assert not [r for r in gaps(zeta, "combined") if "User" in r]


# ------------------------------------------------------------------ 2. code owners


def test_code_owner_review_with_zero_approvals_still_needs_an_owner(zeta):
    """GitHub, "About code owners" and "About protected branches" (Require review from Code
    Owners): a pull request touching owned files needs a code owner's approval whatever the
    required count; GitHub reads .github/CODEOWNERS before the root and docs/ ones, the last
    matching pattern wins, and an author cannot approve their own pull request."""
    repo = next(r for r in zeta.resources if r.key == REPO + "owned")
    assert repo.attrs["required_approvals"] == 0 and repo.attrs["require_code_owner_reviews"] is True
    assert repo.attrs["codeowners"] == {"state": "ok", "path": ".github/CODEOWNERS", "coverage": "full"}
    for login in ("sam", "erin", "frank", "hank"):
        assert merges(zeta, login, "owned") == [], login
    owners = {g.principal: g for g in zeta.grants if g.resource == REPO + "owned" and g.entitlement == "code owner"}
    assert set(owners) == {"github:team/zeta/owners", "github:erin"}  # not sam: the root file is not read
    assert owners["github:erin"].attrs["paths"] == ["/docs/"] and CODE_APPROVE in owners["github:erin"].capabilities
    assert "an owner cannot approve their own change" in owners["github:team/zeta/owners"].detail


def test_paths_without_an_owner_need_nobody(zeta):
    """GitHub, "About code owners": a file no pattern matches has no code owner, so with zero
    required approvals a change to it needs no review (docs/CODEOWNERS read as the third place)."""
    (sam,) = merges(zeta, "sam", "half-owned")
    assert "docs/CODEOWNERS have no code owner" in sam.detail


def test_an_unreadable_codeowners_is_a_gap_not_no_owners(zeta):
    """Unknown is not "no owners": a binary or truncated CODEOWNERS is a Gap, and nobody is
    claimed to merge alone on the strength of it."""
    assert any("could not be read as text" in r and "code owner's review" in r for r in gaps(zeta, "unreadable-owners"))
    assert merges(zeta, "sam", "unreadable-owners") == []


# ------------------------------------------------------------------ 3. pull_request_target


def test_pull_request_target_running_the_head_gives_production_to_anyone_on_a_public_repository(zeta):
    """GitHub, "Events that trigger workflows" (pull_request_target: GITHUB_REF is the pull
    request's base branch) and "Managing environments for deployment" (deployment branches):
    an environment limited to protected branches admits the run; checking out
    github.event.pull_request.head.sha runs the author's code with its secrets and OIDC token
    (GitHub Security Lab, "Preventing pwn requests")."""
    ctx = "ci:repo:zeta/site:environment:production"
    who = triggers(zeta, ctx)
    assert "github:public/anyone" in who and "github:org/zeta/members" in who
    assert "pull_request_target" in who["github:public/anyone"] and "checks out the pull request's head" in \
        who["github:public/anyone"]
    anyone = next(p for p in zeta.principals if p.key == "github:public/anyone")
    assert anyone.kind == Kind.USER and anyone.display_name == "anyone with a GitHub account"
    assert ENV + "site/production" in holdings(zeta, "public/anyone", DEPLOY_RUN)
    # the other pull_request_target workflow runs nothing of the pull request's: no edge from it
    assert all("safe.yml" not in label for label in who.values())


def test_issue_comment_runs_the_pull_request_with_the_default_branch_oidc_subject_on_a_private_repository(zeta):
    """GitHub, "Events that trigger workflows" (issue_comment: GITHUB_REF is the default branch):
    a job without an environment gets the subject repo:O/R:ref:refs/heads/main, which cloud trust
    policies often reserve for the default branch; on a private repository whoever can read it
    can fork it and open a pull request."""
    who = triggers(zeta, "ci:repo:zeta/tool:ref:refs/heads/main")
    assert "github:org/zeta/members" in who and "github:public/anyone" not in who
    assert "gh pr checkout" in who["github:org/zeta/members"]


# ------------------------------------------------------------------ 4. tag rulesets, creation restrictions


def test_only_the_tag_rulesets_bypass_team_deploys_tags(zeta):
    """GitHub, "Available rules for rulesets" (Restrict creations, Restrict updates, for tag
    rulesets targeting refs/tags/v*) and "Managing environments for deployment" (selected
    branches and tags): only who may create or move a v* tag puts code in front of production."""
    who = triggers(zeta, "ci:repo:zeta/tags:environment:production")
    assert set(who) == {"github:team/zeta/release"}
    assert "ruleset 'release tags' bypass (team release)" in who["github:team/zeta/release"]
    assert ENV + "tags/production" not in holdings(zeta, "carol", DEPLOY_RUN)  # platform writes, cannot tag
    assert ENV + "tags/production" in holdings(zeta, "dave", DEPLOY_RUN)


def test_restricted_branch_creation_keeps_writers_from_new_release_branches(zeta):
    """GitHub, "About protected branches" (Restrict pushes that create matching branches): only
    actors allowed to push may create a branch matching the rule; admins may always push."""
    who = triggers(zeta, "ci:repo:zeta/tags:environment:preview")
    assert set(who) == {"github:team/zeta/release", "github:olga"}
    assert "can create branch release/x matching release/*" in who["github:team/zeta/release"]


# ------------------------------------------------------------------ 5. Actions may approve pull requests


def test_actions_approving_pull_requests_satisfies_one_required_approval(zeta, snapshot):
    """GitHub, "Managing GitHub Actions settings for a repository" (Preventing GitHub Actions from
    creating or approving pull requests) and REST "Get default workflow permissions"
    (can_approve_pull_request_reviews): with it on, a workflow's GITHUB_TOKEN approves a pull
    request, and a workflow pushed on a branch may ask for pull-requests: write."""
    repo = next(r for r in zeta.resources if r.key == REPO + "bot-approves")
    assert repo.attrs["actions_can_approve_pull_requests"] is True
    (sam,) = merges(zeta, "sam", "bot-approves")
    assert "GitHub Actions may approve pull requests" in sam.detail
    assert merges(zeta, "sam", "two-approvals") == []  # the workflow's approval is one of two
    assert merges(zeta, "sam", "machines") == []  # setting off in that repository
    requests = snapshot[1]
    assert requests["/orgs/zeta/actions/permissions/workflow"] == 1
    assert requests["/repos/zeta/bot-approves/actions/permissions/workflow"] == 1


# ------------------------------------------------------------------ 7. bypass actors that are not people


def test_apps_and_deploy_keys_on_bypass_lists_are_principals_and_enterprise_actors_gaps(zeta):
    """REST "Get a repository ruleset" (bypass_actors[].actor_type Integration, DeployKey,
    EnterpriseOwner, EnterpriseRole, Team, User) and GraphQL BranchActorAllowanceActor (App):
    what can be named becomes a non-human principal with its grant; what cannot, a Gap naming
    the actor type and id — never "nobody bypasses"."""
    machines = {(g.principal, g.resource) for g in zeta.grants if g.entitlement == "merge unreviewed"
                and g.principal.startswith(("github:app/", "github:deploy-keys/"))}
    assert machines == {("github:app/501", REPO + "combined"), ("github:app/501", REPO + "machines"),
                        ("github:deploy-keys/zeta/machines", REPO + "machines")}
    bot = next(p for p in zeta.principals if p.key == "github:app/501")
    assert bot.kind == Kind.APP and bot.display_name == "GitHub App Merge Bot"
    assert any("EnterpriseOwner" in r for r in gaps(zeta, "combined"))
    assert any("Team 987654" in r and "not a team of the organisation" in r for r in gaps(zeta, "combined"))
    assert any("EnterpriseRole 77" in r for r in gaps(zeta, "machines"))


# ------------------------------------------------------------------ 9. organisation roles through teams


def test_an_organisation_role_held_through_a_team_is_shown_through_the_team(zeta):
    """REST "List users that are assigned to an organization role": assignment "indirect" with
    inherited_from naming the team the user holds the role through."""
    (write,) = holdings(zeta, "gina", "code.push")[REPO + "combined"]
    assert write.principal == "github:team/zeta/role-team"
    assert reach(zeta, "github:gina")["github:team/zeta/role-team"] == ["member of team role-team"]
    assert not [g for g in zeta.grants if g.principal == "github:gina" and "organisation role" in g.detail]
    (direct,) = holdings(zeta, "hank", "code.push")[REPO + "combined"]
    assert direct.principal == "github:hank" and direct.via == "direct"
