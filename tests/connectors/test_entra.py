"""The Entra ID connector against a fake Microsoft Graph on loopback (the real msgraph-sdk over
HTTP): accountEnabled, deleted users, managers, transitive groups, @odata.nextLink paging, a 429
with Retry-After waited out, and what an unreadable directory does to people's status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foureyes.analysis import analyze
from foureyes.collect import collect
from foureyes.config import parse_config
from foureyes.model import PEOPLE_UNREAD, Kind, Principal, RosterStatus, Snapshot, SourceResult
from fakes.graph_server import FakeGraph

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "identity" / "entra.json"
pytest.importorskip("msgraph", reason="foureyes[entra] is not installed")


def _config(url: str) -> object:
    return parse_config(f"""
[identity]
email_domains = ["acme.com"]
[sources.entra]
api_endpoint = "{url}"
anonymous = true
timeout = 10
max_retries = 2
""", "<entra test>")


@pytest.fixture(scope="module")
def graph():
    fake = FakeGraph(json.loads(FIXTURE.read_text(encoding="utf-8"))).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def read(graph):
    graph.fail("/users", 429, retry_after="1")
    (result,) = collect(_config(graph.url), ["entra"])
    graph.faults.clear()
    requests = list(graph.requests)
    graph.requests.clear()
    return result, requests


def _people(result: SourceResult) -> dict[str, Principal]:
    return {p.email: p for p in result.principals if p.kind == Kind.PERSON}


def test_people_with_account_state_manager_and_department(read):
    result, _ = read
    assert result.error is None
    people = _people(result)
    assert {e: (p.attrs["status"], p.attrs["raw_status"]) for e, p in people.items()} == {
        "carmen@acme.com": ("active", "accountEnabled=true"),
        "wanda.webb@acme.com": ("active", "accountEnabled=true"),
        "walter.wong@acme.com": ("active", "accountEnabled=true"),
        "sam.sato@acme.com": ("suspended", "accountEnabled=false"),  # sign-in blocked
        "omar.osman@acme.com": ("terminated", "deleted")}  # in the deleted items
    assert people["omar.osman@acme.com"].attrs["status_changed"] == "2026-10-23"
    assert people["walter.wong@acme.com"].attrs["manager"] == "wanda.webb@acme.com"  # $expand=manager
    assert people["wanda.webb@acme.com"].attrs["aliases"] == ["wwebb@acme.onmicrosoft.com", "wanda@acme.io"]
    # a guest without an address is said, not guessed
    assert [g.reason for g in result.gaps] == ["Entra user a5-guest has neither mail nor an e-mail UPN"]


def test_groups_carry_transitive_members(read):
    result, _ = read
    groups = {p.attrs["name"]: p.key for p in result.principals if p.kind == Kind.GROUP}
    members = {(e.src, e.dst) for e in result.edges}
    # Engineering holds group Engineering - Web: its members are Engineering's too
    assert {src for src, dst in members if dst == groups["Engineering"]} == {
        "entra:person/a2-wanda", "entra:person/a3-walter", "entra:person/a4-sam"}


def test_pages_follow_the_next_link_and_a_429_is_retried_after_retry_after(read):
    _, requests = read
    users = [q for p, q in requests if p == "/users"]
    assert len(users) == 4  # the 429, then three pages of two
    assert [q.get("$skiptoken") for q in users[1:]] == [None, ["2"], ["4"]]
    assert users[0]["$expand"] == ["manager($select=id,mail,userPrincipalName)"]


def test_fixture_keys_are_graph_metadata_names():
    """Every key the fake serves is a property of Graph's user or group (the SDK's models are
    generated from Graph's metadata)."""
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.user import User

    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    user_fields = set(User().get_field_deserializers())
    group_fields = set(Group().get_field_deserializers())
    for user in fixture["users"] + fixture["deleted"]:
        assert set(user) - user_fields == set(), user["id"]
    for group in fixture["groups"]:
        assert set(group) - {"members"} - group_fields == set(), group["id"]


def test_an_unreadable_directory_makes_people_unknown_never_active(graph):
    graph.fail("/users", 403, times=None)
    try:
        (result,) = collect(_config(graph.url), ["entra"])
    finally:
        graph.faults.clear()
    assert [g.hides for g in result.gaps if g.reason.startswith("GET /users")] == [PEOPLE_UNREAD]
    assert "403 Authorization_RequestDenied" in next(g.reason for g in result.gaps if g.hides == PEOPLE_UNREAD)
    github = SourceResult(name="github", system="github", principals=(
        Principal("github", "walter-web", Kind.USER, "Walter Wong", "walter.wong@acme.com",
                  attrs={"email_source": "saml"}),))
    analysis = analyze(Snapshot(1, "2026-11-02T08:00:00+00:00", "t", (github, result)),
                       _config(graph.url))
    walter = analysis.identities.people["walter.wong@acme.com"]
    assert walter.status == RosterStatus.UNKNOWN
    # someone Entra could still name as deleted stays a leaver: that much is known
    assert analysis.identities.roster.people["omar.osman@acme.com"].status == RosterStatus.TERMINATED
