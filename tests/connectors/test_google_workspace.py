"""The Google Workspace connector against the Directory API in the fake Google server (the real
google-api-python-client over HTTP): suspended, archived and deleted users, the manager relation,
organisational units, derived group members, nextPageToken paging, a 429 retried, and what an
unreadable directory does to people's status."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from foureyes.analysis import analyze
from foureyes.collect import collect
from foureyes.config import parse_config
from foureyes.model import PEOPLE_UNREAD, Kind, Principal, RosterStatus, Snapshot, SourceResult
from fakes.google_server import FakeGoogle

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "identity" / "workspace.json"
USERS = "/admin/directory/v1/users"


def _config(url: str) -> object:
    return parse_config(f"""
[identity]
email_domains = ["acme.com"]
[sources.google_workspace]
api_endpoint = "{url}/"
anonymous = true
timeout = 10
num_retries = 2
""", "<workspace test>")


@pytest.fixture(scope="module")
def google():
    fake = FakeGoogle(json.loads(FIXTURE.read_text(encoding="utf-8"))).start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def read(google):
    google.fail("GET", USERS, 429, times=1)
    (result,) = collect(_config(google.url), ["google_workspace"])
    google.faults.clear()
    requests = list(google.requests)
    google.requests.clear()
    return result, requests


def _people(result: SourceResult) -> dict[str, Principal]:
    return {p.email: p for p in result.principals if p.kind == Kind.PERSON}


def test_people_with_state_manager_unit_and_department(read):
    result, _ = read
    assert result.error is None and result.gaps == ()
    people = _people(result)
    assert {e: (p.attrs["status"], p.attrs["raw_status"]) for e, p in people.items()} == {
        "carmen@acme.com": ("active", "active"), "wanda.webb@acme.com": ("active", "active"),
        "walter.wong@acme.com": ("active", "active"), "sam.sato@acme.com": ("suspended", "suspended (ADMIN)"),
        "fatima.farouk@acme.com": ("terminated", "archived"), "omar.osman@acme.com": ("terminated", "deleted")}
    # the manager relation may name an alias: it leads to the primary address
    assert people["walter.wong@acme.com"].attrs["manager"] == "wanda.webb@acme.com"
    assert people["sam.sato@acme.com"].attrs["org_unit"] == "/Engineering/Platform"
    assert people["carmen@acme.com"].attrs["employee_number"] == "1001"
    assert people["omar.osman@acme.com"].attrs["status_changed"] == "2026-10-23"


def test_groups_with_derived_members(read):
    result, _ = read
    groups = {p.attrs["name"]: p.key for p in result.principals if p.kind == Kind.GROUP}
    assert {e.src for e in result.edges if e.dst == groups["Engineering"]} == {
        "google_workspace:person/102", "google_workspace:person/103", "google_workspace:person/104"}


def test_pages_follow_next_page_token_and_a_429_is_retried(read):
    _, requests = read
    users = [r.query for r in requests if r.path == USERS and "showDeleted" not in r.query]
    assert [q.get("pageToken") for q in users] == [None, None, ["2"], ["4"]]  # the 429, its retry, two more pages
    members = [r.query for r in requests if r.path.endswith("/members")]
    assert all(q["includeDerivedMembership"] == ["true"] for q in members)


def test_fixture_keys_are_in_the_directory_api_discovery_document():
    import googleapiclient

    doc = json.loads((Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" /
                      "admin.directory_v1.json").read_text(encoding="utf-8"))
    schemas = doc["schemas"]
    directory = json.loads(FIXTURE.read_text(encoding="utf-8"))["directory"]
    for user in directory["users"] + directory["deleted"]:
        assert set(user) - set(schemas["User"]["properties"]) == set(), user["id"]
        assert set(user["name"]) <= set(schemas["UserName"]["properties"])
    for group in directory["groups"]:
        assert set(group) - {"members"} - set(schemas["Group"]["properties"]) == set()
        for member in group["members"]:
            assert set(member) <= set(schemas["Member"]["properties"])
    assert {"users", "nextPageToken"} <= set(schemas["Users"]["properties"])


def test_an_unreadable_directory_makes_people_unknown_never_active(google):
    google.fail("GET", USERS, 403, times=None)
    try:
        (result,) = collect(_config(google.url), ["google_workspace"])
    finally:
        google.faults.clear()
    assert {g.hides for g in result.gaps} == {PEOPLE_UNREAD} and "403" in result.gaps[0].reason
    gcp = SourceResult(name="gcp", system="gcp", principals=(
        Principal("gcp", "user:wanda.webb@acme.com", Kind.USER, "wanda.webb@acme.com", "wanda.webb@acme.com",
                  attrs={"email_source": "member"}),))
    analysis = analyze(Snapshot(1, "2026-11-02T08:00:00+00:00", "t", (gcp, result)), _config(google.url))
    assert analysis.identities.people["wanda.webb@acme.com"].status == RosterStatus.UNKNOWN
