"""The one SourceBuilder every connector and the demo accumulate into: its de-duplication rule."""

from __future__ import annotations

from foureyes.connectors.base import SourceBuilder
from foureyes.model import Edge, EdgeKind, Gap, Grant, Kind, Principal, Resource


def test_the_first_writer_of_a_key_wins():
    b = SourceBuilder()
    first = b.principal(Principal("github", "alice", Kind.USER, display_name="Alice"))
    again = b.principal(Principal("github", "alice", Kind.USER, display_name="someone else"))
    assert first == again == "github:alice"
    assert b.principals[first].display_name == "Alice"
    b.resource(Resource("github", "repo", "acme/api", name="first"))
    b.resource(Resource("github", "repo", "acme/api", name="second"))
    b.grant(Grant("github", first, "write", "github:repo:acme/api", detail="as a team member"))
    b.grant(Grant("github", first, "write", "github:repo:acme/api", detail="as a collaborator"))
    b.edge(Edge(first, "github:team/acme/web", EdgeKind.MEMBER_OF, "member of team web"))
    b.edge(Edge(first, "github:team/acme/web", EdgeKind.MEMBER_OF, "maintainer of team web"))
    result = b.result("github", "github")
    assert [r.name for r in result.resources] == ["first"]
    assert [g.detail for g in result.grants] == ["as a team member"]
    assert [e.label for e in result.edges] == ["member of team web"]


def test_a_gap_is_counted_once_however_many_reads_hit_it():
    b = SourceBuilder()
    for _ in range(3):
        b.gap(Gap("aws", "aws:account:111111111111", "AccessDenied on iam:GetAccountAuthorizationDetails", "all"))
    b.gap(Gap("aws", "aws:account:222222222222", "AccessDenied on iam:GetAccountAuthorizationDetails", "all"))
    assert len(b.gaps) == 2
    assert b.result("aws", "aws").counts()["gaps"] == 2


def test_an_edge_to_itself_is_dropped():
    b = SourceBuilder()
    role = "aws:arn:aws:iam::111111111111:role/admin"
    b.edge(Edge(role, role, EdgeKind.CAN_ASSUME, "trust policy names the role itself"))
    assert b.edges == {}


def test_later_facts_about_a_principal_replace_its_copy():
    b = SourceBuilder()
    key = b.principal(Principal("aws", "arn:aws:iam::1:role/r", Kind.ROLE, attrs={"oidc_subjects": []}))
    b.with_attrs(key, oidc_subjects=["repo:acme/api:*"], oidc_wildcard=True)
    assert dict(b.principals[key].attrs) == {"oidc_subjects": ["repo:acme/api:*"], "oidc_wildcard": True}


def test_an_ordered_result_does_not_depend_on_the_order_things_were_read_in():
    def build(order: list[str]) -> tuple:
        b = SourceBuilder()
        for name in order:
            b.principal(Principal("gcp", f"user:{name}@acme.com", Kind.USER))
            b.grant(Grant("gcp", f"gcp:user:{name}@acme.com", "roles/viewer", "gcp:project:p"))
            b.gap(Gap("gcp", "gcp:project:p", f"members of group:{name} unknown"))
        r = b.result("gcp", "gcp", ordered=True)
        return r.principals, r.grants, r.gaps

    assert build(["bo", "al", "cy"]) == build(["cy", "bo", "al"])
    principals, _, _ = build(["bo", "al", "cy"])
    assert [p.id for p in principals] == ["user:al@acme.com", "user:bo@acme.com", "user:cy@acme.com"]
