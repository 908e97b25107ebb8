"""The roster merged from several identity sources: statuses, aliases, managers, unknown when a
source could not be read, and the IdP groups that feed an IAM Identity Center group."""

from __future__ import annotations

from foureyes.analysis import analyze
from foureyes.config import parse_config
from foureyes.connectors.base import SourceBuilder
from foureyes.connectors.roster import records as r
from foureyes.model import (CODE_PUSH, PEOPLE_UNREAD, Edge, EdgeKind, Gap, Grant, Kind, Principal, Resource,
                            RosterStatus, Snapshot)

CONFIG = parse_config('[identity]\nemail_domains = ["acme.com"]\n', "<roster test>")


def _snapshot(*sources) -> Snapshot:
    return Snapshot(1, "2026-11-02T08:00:00+00:00", "t", tuple(sources))


def _github(*logins: tuple[str, str]):
    b = SourceBuilder()
    repo = b.resource(Resource("github", "repo", "acme/api", tier="production"))
    for login, email in logins:
        b.principal(Principal("github", login, Kind.USER, login, email, attrs={"email_source": "saml"}))
        b.grant(Grant("github", f"github:{login}", "write", repo, (CODE_PUSH,)))
    return b.result("github", "github")


def test_the_worst_status_wins_and_the_hr_roster_names_the_manager():
    hr, okta = SourceBuilder(), SourceBuilder()
    hr.principal(r.person("roster", "ann@acme.com", name="Ann", email="ann@acme.com", status="active",
                          manager="bo@acme.com", department="Web", end="2026-12-31"))
    okta.principal(r.person("okta", "00u1", name="Ann A.", email="ann@acme.com", status="suspended",
                            raw_status="SUSPENDED", manager="cy@acme.com", department="Platform",
                            status_changed="2026-10-30", aliases=["ann", "a.a@acme.com"]))
    analysis = analyze(_snapshot(_github(("ann-gh", "a.a@acme.com")), hr.result("roster", "roster"),
                                 okta.result("okta", "okta")), CONFIG)
    ann = analysis.identities.people["ann@acme.com"]  # the SAML address is an Okta alias of hers
    assert ann.accounts[0].evidence == ("SAML identity nameId a.a@acme.com (roster alias a.a@acme.com → "
                                        "ann@acme.com (okta address))")
    record = ann.roster
    assert (record.status, record.status_reason, record.left_on) == ("suspended", "okta: SUSPENDED", "2026-10-30")
    assert (record.manager, record.department, record.name) == ("bo@acme.com", "Web", "Ann")  # HR first
    assert [f.rule.id for f in analysis.findings if f.person == "ann@acme.com"] == ["FE-ROS-001"]


def test_an_end_date_that_passed_makes_a_leaver_and_a_failed_source_makes_unknown():
    hr = SourceBuilder()
    hr.principal(r.person("roster", "dee@acme.com", name="Dee", email="dee@acme.com", status="active",
                          end="2026-10-01"))
    hr.principal(r.person("roster", "eve@acme.com", name="Eve", email="eve@acme.com", status="active"))
    failed = SourceBuilder()
    failed.gap(Gap("okta", "okta:org:acme", "GET /api/v1/users: 403", PEOPLE_UNREAD))
    analysis = analyze(_snapshot(_github(("dee-gh", "dee@acme.com"), ("eve-gh", "eve@acme.com"),
                                         ("zed-gh", "zed@acme.com")),
                                 hr.result("roster", "roster"), failed.result("okta", "okta")), CONFIG)
    people = analysis.identities.people
    assert people["dee@acme.com"].status == RosterStatus.TERMINATED  # known, whatever Okta would say
    assert people["dee@acme.com"].roster.status_reason == "end date 2026-10-01 has passed"
    assert people["eve@acme.com"].status == RosterStatus.UNKNOWN  # HR says active, Okta could not be read
    assert people["zed@acme.com"].status == RosterStatus.UNKNOWN  # not "not in roster": Okta might know zed
    assert {f.rule.id for f in analysis.findings if f.rule.kind == "roster"} == {"FE-ROS-001"}  # no orphan


def test_an_identity_center_group_provisioned_from_an_okta_group_is_compared_with_it():
    okta, aws = SourceBuilder(), SourceBuilder()
    for n, email in enumerate(("ann@acme.com", "bo@acme.com")):
        okta.principal(r.person("okta", f"00u{n}", name=email, email=email, status="active"))
    group = okta.principal(r.group("okta", "00gdeploy", name="Deployers"))
    r.membership(okta, "okta:person/00u0", group, "member")
    sso = aws.principal(Principal("aws", "sso:d-1:group/Deployers", Kind.GROUP, "SSO group Deployers",
                                  attrs={"external_ids": [{"Issuer": "https://acme.okta.com", "Id": "00gdeploy"}]}))
    for name in ("ann", "bo"):
        user = aws.principal(Principal("aws", f"sso:d-1:user/{name}", Kind.USER, name, f"{name}@acme.com",
                                       attrs={"email_source": "sso"}))
        aws.edge(Edge(user, sso, EdgeKind.MEMBER_OF, "member of SSO group Deployers"))
    analysis = analyze(_snapshot(okta.result("okta", "okta"), aws.result("aws", "aws")), CONFIG)
    (feed,) = analysis.feeds
    assert (feed.target, feed.idp_label, feed.how) == ("aws:sso:d-1:group/Deployers", "Deployers",
                                                        "SCIM provisioning into IAM Identity Center")
    assert feed.extra == {"bo@acme.com"}  # in the Identity Center group, no longer in the Okta group
    (finding,) = [f for f in analysis.findings if f.rule.id == "FE-ROS-004"]
    assert finding.facts["extra"] == ["bo@acme.com"]
