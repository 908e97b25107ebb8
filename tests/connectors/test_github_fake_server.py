"""The fake GitHub itself, driven by PyGithub: it must hurt clients where GitHub does.

Later users (ticket exporter, scale benchmark, fault tests) rely on what is checked here.
"""

from __future__ import annotations

import threading
import time

import pytest
from github import Auth, Github, GithubException, UnknownObjectException

from fakes.github_server import FakeGitHub, check_schema, load_fixture, synthetic_org


@pytest.fixture(scope="module")
def gh():
    with FakeGitHub(load_fixture("scenarios.yaml")) as server:
        yield server


def client(server: FakeGitHub, **kwargs) -> Github:
    return Github(base_url=server.url, auth=Auth.Token("t"), retry=None, seconds_between_requests=None,
                  seconds_between_writes=None, **kwargs)


def test_link_header_pagination_honours_per_page(gh):
    gh.stats.reset()
    members = [m.login for m in client(gh, per_page=5).get_organization("acme").get_members()]
    assert len(members) == 17 and len(set(members)) == 17  # owners and members, not the outside collaborator
    gh.settle()  # the fake logs a request just after answering it: the last page may not be logged yet
    assert gh.stats.count("/orgs/acme/members") == 4  # ceil(17 / 5) pages, followed through Link: rel="next"
    first = next(e for e in gh.stats.log if e.path == "/orgs/acme/members")
    assert "per_page=5" in first.query


def test_unprotected_branch_is_a_404(gh):
    repo = client(gh).get_repo("acme/webhooks")
    # GitHub says "Branch not protected", not "Not Found": PyGithub raises a plain GithubException
    with pytest.raises(GithubException) as info:
        repo.get_branch("main").get_protection()
    assert not isinstance(info.value, UnknownObjectException)
    assert info.value.status == 404 and info.value.data["message"] == "Branch not protected"
    protection = client(gh).get_repo("acme/payments-api").get_branch("main").get_protection()
    assert protection.enforce_admins is False
    assert protection.required_pull_request_reviews.required_approving_review_count == 1
    assert protection.required_pull_request_reviews.require_last_push_approval is True


def test_secondary_rate_limit_with_retry_after_then_success():
    with FakeGitHub(load_fixture("scenarios.yaml")) as server:
        server.faults.secondary_rate_limit("/orgs/acme", retry_after=1)
        plain = client(server)
        with pytest.raises(GithubException) as info:  # without retry, the client sees GitHub's 403
            plain.get_organization("acme")
        assert info.value.status == 403 and info.value.headers["retry-after"] == "1"
        assert "secondary rate limit" in info.value.data["message"]
        assert plain.get_organization("acme").login == "acme"  # one fault only


def test_rate_limit_headers_on_every_answer(gh):
    org = client(gh).get_organization("acme")
    assert org.default_repository_permission == "read"
    remaining, limit = client(gh).rate_limiting
    assert limit == 5000 and 0 < remaining < 5000


def test_graphql_saml_identities_and_github_limits(gh):
    requester = client(gh).requester
    query = """query($org: String!) { organization(login: $org) { samlIdentityProvider {
      externalIdentities(first: 100) { totalCount nodes { samlIdentity { nameId } user { login } } } } } }"""
    _, data = requester.graphql_query(query, {"org": "acme"})
    nodes = data["data"]["organization"]["samlIdentityProvider"]["externalIdentities"]["nodes"]
    assert {"samlIdentity": {"nameId": "max@acme.com"}, "user": {"login": "max"}} in nodes
    assert all(n["user"]["login"] != "nina" for n in nodes)
    _, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={
        "query": "query { organization(login: \"acme\") { teams(first: 101) { totalCount } } }"})
    assert data["errors"][0]["message"] == ("Requesting 101 records on the `teams` connection exceeds the `first` "
                                            "limit of 100 records.")
    _, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={
        "query": "query { organization(login: \"acme\") { teams { totalCount } } }"})
    assert "must provide a `first` or `last` value" in data["errors"][0]["message"]
    _, data = requester.requestJsonAndCheck("POST", requester.graphql_url, input={
        "query": "query { organization(login: \"acme\") { repositories(first: 1) { nodes { nope } } } }"})
    assert "Cannot query field 'nope' on type 'Repository'" in data["errors"][0]["message"]


def test_issues_for_the_ticket_exporter(gh):
    repo = client(gh).get_repo("acme/ledger")
    issue = repo.create_issue(title="Revoke bob's bypass", body="details\n<!-- foureyes:finding:abc123 -->",
                              labels=["foureyes"])
    found = list(client(gh).search_issues('"foureyes:finding:abc123" repo:acme/ledger is:issue'))
    assert [i.number for i in found] == [issue.number]
    issue.edit(state="closed")
    assert repo.get_issue(issue.number).state == "closed"
    assert list(client(gh).search_issues('"foureyes:finding:abc123" repo:acme/ledger is:open')) == []
    issue.create_comment("closed by foureyes")
    assert repo.get_issue(issue.number).comments == 1


def test_counters_log_and_max_in_flight():
    with FakeGitHub(load_fixture("scenarios.yaml"), latency=0.2) as server:
        ready = threading.Barrier(6)

        def hit() -> None:
            gh = client(server)
            ready.wait(timeout=10)  # fire together, so the requests overlap
            gh.get_organization("acme")

        threads = [threading.Thread(target=hit) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        deadline = time.monotonic() + 5
        while server.stats.total < 6 and time.monotonic() < deadline:  # the server logs after it answers
            time.sleep(0.01)
        assert server.stats.total == 6 and server.stats.per_path == {"/orgs/acme": 6}
        assert 2 <= server.stats.max_in_flight <= 6
        assert all(e.ended - e.started >= 0.2 and e.status == 200 for e in server.stats.log)
        assert server.tokens == ["t"] * 6


def test_synthetic_organisation_is_deterministic():
    a = synthetic_org(repos=30, members=40, teams=6)
    assert a == synthetic_org(repos=30, members=40, teams=6)
    assert len(a["repos"]) == 30 and len(a["people"]) == 40 and len(a["teams"]) == 6


def test_schema_subset_matches_itself():
    from fakes.github_server import SCHEMA_PATH

    assert check_schema(SCHEMA_PATH) == []
