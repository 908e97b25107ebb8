"""The permission graph: shortest paths, cycles, CI joins, and work shared between people."""

from __future__ import annotations

from foureyes.config import parse_config
from foureyes.graph import Graph
from foureyes.identity import link
from foureyes.model import Edge, Grant, Principal, Resource, Snapshot, SourceResult


def _user(login: str) -> Principal:
    return Principal("github", login, "user", login, email=f"{login}@acme.com", attrs={"email_source": "saml"})


def _graph(principals, grants, edges, resources=()) -> Graph:
    result = SourceResult("t", "multi", principals=tuple(principals), resources=tuple(resources),
                          grants=tuple(grants), edges=tuple(edges))
    snap = Snapshot(1, "t", "", (result,))
    return Graph(snap, link(snap, parse_config("")))


def test_role_cycles_terminate_and_keep_the_shortest_path():
    alice = _user("alice")
    a, b, c = (Principal("aws", f"role/{n}", "role", f"role {n}") for n in "abc")
    account = Resource("aws", "account", "1", tier="production")
    edges = [Edge(alice.key, a.key, "can-assume", "trust a"), Edge(a.key, b.key, "can-assume", "trust b"),
             Edge(b.key, a.key, "can-assume", "trust back"), Edge(b.key, c.key, "can-assume", "trust c"),
             Edge(c.key, a.key, "can-assume", "trust back again"), Edge(alice.key, c.key, "can-assume", "direct c")]
    grants = [Grant("aws", b.key, "policy deploy", account.key, ("deploy.run",)),
              Grant("aws", c.key, "policy admin", account.key, ("access.admin",))]
    g = _graph([alice, a, b, c], grants, edges, [account])
    holdings = {h.capability: h for h in g.holdings("alice@acme.com")}
    assert set(holdings) == {"deploy.run", "access.admin"}
    deploy = [s.node for s in g.path(holdings["deploy.run"])]
    assert deploy[2:4] == ["role a", "role b"]  # alice → a → b, not alice → c → a → b
    admin = [s.node for s in g.path(holdings["access.admin"])]
    assert admin[2] == "role c"


def test_work_is_shared_between_people_reaching_the_same_team():
    users = [_user(f"u{i}") for i in range(50)]
    team = Principal("github", "team/acme/big", "team", "team big")
    repos = [Resource("github", "repo", f"acme/r{i}") for i in range(20)]
    grants = [Grant("github", team.key, "write", r.key, ("code.push",)) for r in repos]
    edges = [Edge(u.key, team.key, "member-of", "member of team big") for u in users]
    g = _graph(users + [team], grants, edges, repos)
    assert len(g.holdings()) == 50 * 20
    # one closure per node: the team's is computed once, not once per member
    assert len(g._closure[team.key]) == 20


def test_ci_context_joins_a_matching_trust_pattern_only():
    alice = _user("alice")
    any_branch = Principal("ci", "repo:acme/api:ref:refs/heads/*", "workload", "new branch of acme/api",
                           attrs={"repo": "acme/api", "protected": ["main"]})
    main_only = Principal("ci", "repo:acme/api:ref:refs/heads/main", "workload-pattern", "sub main")
    any_ref = Principal("ci", "repo:acme/api:*", "workload-pattern", "sub repo:acme/api:*")
    role_main = Principal("aws", "role/main", "role", "role main")
    role_any = Principal("aws", "role/any", "role", "role any")
    account = Resource("aws", "account", "1", tier="production")
    edges = [Edge(alice.key, any_branch.key, "can-trigger", "can push a branch"),
             Edge(main_only.key, role_main.key, "can-assume", "trust main"),
             Edge(any_ref.key, role_any.key, "can-assume", "trust any")]
    grants = [Grant("aws", role_main.key, "policy", account.key, ("deploy.run",)),
              Grant("aws", role_any.key, "policy 2", account.key, ("deploy.run",))]
    g = _graph([alice, any_branch, main_only, any_ref, role_main, role_any], grants, edges, [account])
    (holding,) = g.holdings("alice@acme.com")
    assert holding.repo == "acme/api"  # the capability is tagged with the repository it comes through
    assert [s.node for s in g.path(holding)][-3] == "role any"


def test_all_paths_lists_alternative_routes():
    alice = _user("alice")
    t1, t2 = Principal("github", "team/acme/a", "team", "team a"), Principal("github", "team/acme/b", "team", "team b")
    repo = Resource("github", "repo", "acme/api")
    grants = [Grant("github", t.key, "write", repo.key, ("code.push",)) for t in (t1, t2)]
    edges = [Edge(alice.key, t.key, "member-of", f"member of {t.display_name}") for t in (t1, t2)]
    g = _graph([alice, t1, t2], grants, edges, [repo])
    (holding,) = g.holdings("alice@acme.com")
    routes = g.paths(holding)
    assert len(routes) == 2
    assert {r[2].node for r in routes} == {"team a", "team b"}


def test_exact_trust_subject_sharing_a_key_with_the_github_context_keeps_the_repo():
    # the AWS connector describes ci:repo:acme/api:environment:production as a trust pattern,
    # the GitHub connector as a workload; whichever record wins, the capability concerns acme/api
    alice = _user("alice")
    role = Principal("aws", "role/deploy", "role", "role deploy")
    account = Resource("aws", "account", "1", tier="production")
    for kind in ("workload", "workload-pattern"):
        context = Principal("ci", "repo:acme/api:environment:production", kind, "production of acme/api")
        edges = [Edge(alice.key, context.key, "can-trigger", "no reviewer"),
                 Edge(context.key, role.key, "can-assume", "trust sub StringEquals")]
        g = _graph([alice, context, role], [Grant("aws", role.key, "policy", account.key, ("deploy.run",))], edges,
                   [account])
        (holding,) = g.holdings("alice@acme.com")
        assert holding.repo == "acme/api", kind


def _teams_graph() -> Graph:
    """acme/web with a child team acme/mobile, and a team of the same slug in another org."""
    alice, bob, carol, dan = (_user(n) for n in ("alice", "bob", "carol", "dan"))
    web = Principal("github", "team/acme/web", "team", "team web")
    mobile = Principal("github", "team/acme/mobile", "team", "team mobile")
    other_web = Principal("github", "team/other/web", "team", "team web")
    edges = [Edge(alice.key, mobile.key, "member-of", "member of team mobile"),
             Edge(mobile.key, web.key, "member-of", "parent of team mobile"),
             Edge(bob.key, web.key, "member-of", "maintainer of team web"),
             Edge(carol.key, other_web.key, "member-of", "member of team web"),
             Edge(dan.key, mobile.key, "can-assume", "not a membership")]
    return _graph([alice, bob, carol, dan, web, mobile, other_web], [], edges)


def test_team_members_include_child_teams_and_accept_slug_org_slug_id_and_key():
    g = _teams_graph()
    acme_web = {"alice@acme.com", "bob@acme.com"}
    # one rule: slug, org/slug, the team's id and its key; a slug names the team in every org
    assert g.team_members("web") == acme_web | {"carol@acme.com"}
    for name in ("acme/web", "team/acme/web", "github:team/acme/web"):
        assert g.team_members(name) == acme_web, name
    assert g.team_members("acme/mobile") == g.team_members("mobile") == {"alice@acme.com"}
    assert g.team_members("other/web") == {"carol@acme.com"}
    # no partial names, and only member-of edges make a member
    assert g.team_members("cme/web") == g.team_members("eb") == g.team_members("nobody") == set()
    assert g.team_maintainers() == {"github:team/acme/web": ["bob@acme.com"]}


def test_matrix_and_campaign_scope_name_a_team_the_same_way():
    from foureyes.analysis import analyze
    from foureyes.matrix import matrix_rows
    from foureyes.review import Scope, ReviewerRules, plan_items

    alice, bob, carol = (_user(n) for n in ("alice", "bob", "carol"))
    web = Principal("github", "team/acme/web", "team", "team web")
    mobile = Principal("github", "team/acme/mobile", "team", "team mobile")
    repo = Resource("github", "repo", "acme/web", tier="production")
    result = SourceResult("t", "multi", principals=(alice, bob, carol, web, mobile), resources=(repo,),
                          grants=(Grant("github", web.key, "write", repo.key, ("code.push",)),
                                  Grant("github", carol.key, "write", repo.key, ("code.push",))),
                          edges=(Edge(alice.key, mobile.key, "member-of", "member of team mobile"),
                                 Edge(mobile.key, web.key, "member-of", "parent of team mobile"),
                                 Edge(bob.key, web.key, "member-of", "member of team web")))
    config = parse_config("")
    analysis = analyze(Snapshot(1, "t", "", (result,)), config)
    for name in ("web", "acme/web", "github:team/acme/web"):
        # `foureyes matrix --team` once knew only the slug: "acme/web" listed nobody
        assert {r["person"] for r in matrix_rows(analysis, tier="any", team=name)} == {"alice@acme.com", "bob@acme.com"}
        drafts = plan_items(analysis, config, Scope(kind="all", teams=(name,)), ReviewerRules(rules=()))
        assert {d.person for d in drafts} == {"alice@acme.com", "bob@acme.com"}
