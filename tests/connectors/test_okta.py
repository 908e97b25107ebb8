"""The Okta connector against a fake Okta on loopback (HTTPS, the real `okta` SDK): statuses,
deprovisioned users (which the default list leaves out), managers, groups, app assignments,
Link-header paging, a 429 waited out, and what an unreadable Okta does to people's status."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from foureyes.analysis import analyze
from foureyes.collect import collect
from foureyes.config import parse_config
from foureyes.model import PEOPLE_UNREAD, AccountLink, Kind, Principal, RosterStatus, Snapshot, SourceResult
from fakes.okta_server import FakeOkta
from fakes.tls import certificate

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "identity" / "okta.json"


def _config(url: str, extra: str = "") -> object:
    return parse_config(f"""
[identity]
email_domains = ["acme.com"]
[sources.okta]
org_url = "{url}"
ca_file = "{certificate()[0]}"
page_size = 200
max_retries = 2
timeout = 20
{extra}
""", "<okta test>")


@pytest.fixture(scope="module")
def okta():
    fake = FakeOkta(json.loads(FIXTURE.read_text(encoding="utf-8"))).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def read(okta):
    """One full read, with a rate limit on the first page of users."""
    os.environ["OKTA_API_TOKEN"] = okta.token
    try:
        okta.fail(r"/api/v1/users", 429, times=1)
        (result,) = collect(_config(okta.url), ["okta"])
    finally:
        os.environ.pop("OKTA_API_TOKEN", None)
        okta.faults.clear()
    requests = list(okta.requests)
    okta.requests.clear()
    return result, requests


def _people(result: SourceResult) -> dict[str, Principal]:
    return {p.email: p for p in result.principals if p.kind == Kind.PERSON}


def test_people_with_status_manager_and_department(read):
    result, _ = read
    assert result.error is None and result.gaps == ()
    people = _people(result)
    assert {e: p.attrs["status"] for e, p in people.items()} == {
        "carmen@acme.com": "active", "wanda.webb@acme.com": "active", "walter.wong@acme.com": "active",
        "omar.osman@acme.com": "terminated",  # DEPROVISIONED: read with a filter, the default list omits it
        "sam.sato@acme.com": "suspended", "nina.nakamura@acme.com": "active"}  # PROVISIONED: not yet active
    assert people["omar.osman@acme.com"].attrs["status_changed"] == "2026-10-23"
    # managerId may hold the manager's user id, employee number or login; `manager` a display name
    assert {e: p.attrs.get("manager") for e, p in people.items()} == {
        "carmen@acme.com": None, "wanda.webb@acme.com": "carmen@acme.com",
        "walter.wong@acme.com": "wanda.webb@acme.com", "omar.osman@acme.com": "wanda.webb@acme.com",
        "sam.sato@acme.com": "wanda.webb@acme.com", "nina.nakamura@acme.com": "wanda.webb@acme.com"}
    assert people["wanda.webb@acme.com"].attrs["department"] == "Web"
    assert people["wanda.webb@acme.com"].attrs["aliases"] == ["wanda"]  # login, for a SAML NameID
    assert people["walter.wong@acme.com"].attrs["aliases"] == ["walter@acme.io"]


def test_groups_memberships_and_app_assignments(read):
    result, _ = read
    groups = {p.attrs["name"]: p.key for p in result.principals if p.kind == Kind.GROUP}
    members = {(e.src, e.dst) for e in result.edges}
    assert ("okta:person/00u6nina", groups["Engineering - Web"]) in members
    assert not any(dst == groups["Everyone"] for _, dst in members)  # BUILT_IN: not read
    people = _people(result)
    assert people["wanda.webb@acme.com"].attrs["apps"] == ["GitHub Enterprise Cloud"]  # direct and via group
    assert people["sam.sato@acme.com"].attrs["apps"] == ["AWS IAM Identity Center"]  # via group SRE
    assert "apps" not in people["carmen@acme.com"].attrs  # Slack is not an audited system


def test_pages_follow_the_link_header_and_a_429_is_waited_out(read):
    _, requests = read
    users = [(q, h) for p, q, h in requests if p == "/api/v1/users" and "filter" not in q]
    # the 429, its retry (marked by the SDK), then the pages after it by cursor
    assert users[1][1].get("X-Okta-Retry-Count") == "1"
    assert [q.get("after") for q, _ in users[1:]] == [None, ["00u2wanda"], ["00u5sam"]]
    assert any(q.get("filter") == ['status eq "DEPROVISIONED"'] for p, q, _ in requests if p == "/api/v1/users")
    assert all(h.get("Authorization", "").startswith("SSWS") for _, _, h in requests)


def test_fixture_payloads_are_okta_models_without_leftovers():
    """The fake's users, groups and apps deserialise into the SDK's models (generated from Okta's
    OpenAPI description) with every field known."""
    from okta.models.group import Group
    from okta.models.user import User

    fixture = json.loads(FIXTURE.read_text(encoding="utf-8"))
    for raw in fixture["users"]:
        user = User.from_dict(raw)
        assert user.id == raw["id"] and not user.profile.additional_properties, raw["id"]
    for raw in fixture["groups"]:
        group = Group.from_dict({k: v for k, v in raw.items() if k != "members"})
        assert group.id == raw["id"] and group.profile.actual_instance is not None


def test_an_unreadable_okta_makes_people_unknown_never_active(okta):
    """403 on the user list: a gap that hides people; everyone Okta might know is 'unknown'."""
    os.environ["OKTA_API_TOKEN"] = okta.token
    try:
        okta.fail(r"/api/v1/users", 403, times=None)
        config = _config(okta.url, "apps = false")
        (result,) = collect(config, ["okta"])
    finally:
        os.environ.pop("OKTA_API_TOKEN", None)
        okta.faults.clear()
    assert {g.hides for g in result.gaps} == {PEOPLE_UNREAD}
    assert "403 E0000006" in result.gaps[0].reason
    people = _people(result)
    assert people == {}
    github = SourceResult(name="github", system="github", principals=(
        Principal("github", "wanda-web", Kind.USER, "Wanda Webb", "wanda.webb@acme.com",
                  attrs={"email_source": "saml"}),))
    analysis = analyze(Snapshot(1, "2026-11-02T08:00:00+00:00", "t", (github, result)), config)
    wanda = analysis.identities.people["wanda.webb@acme.com"]
    assert wanda.status == RosterStatus.UNKNOWN and "403" in wanda.roster.status_reason
    assert wanda.accounts == (AccountLink("github:wanda-web", "saml", "SAML identity nameId wanda.webb@acme.com"),)


def test_a_server_that_echoes_the_token_cannot_make_foureyes_repeat_it(okta):
    """Okta quoting the request's credential in its error: the gap says what failed,
    never the API token (the connector registers it with its Secrets; collect scrubs)."""
    os.environ["OKTA_API_TOKEN"] = okta.token
    try:
        okta.fail(r"/api/v1/users", 403, times=None, echo=True)
        (result,) = collect(_config(okta.url, "apps = false"), ["okta"])
    finally:
        os.environ.pop("OKTA_API_TOKEN", None)
        okta.faults.clear()
    reasons = " ".join(g.reason for g in result.gaps)
    assert "403 E0000006" in reasons and "credential presented" in reasons  # the echo reached the gap...
    assert okta.token not in reasons and okta.token not in repr(result)  # ...without the token


def test_no_token_fails_the_source_and_says_which_variable(okta):
    os.environ.pop("OKTA_API_TOKEN", None)
    okta.requests.clear()
    (result,) = collect(_config(okta.url), ["okta"])
    assert result.error == ("Okta: set OKTA_API_TOKEN to a read-only admin's API token "
                            "(or configure client_id and private_key_path)")
    assert okta.requests == []
