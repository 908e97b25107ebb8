"""The `manager` reviewer rule and the `leavers` and `movers` scopes, on SQLite and PostgreSQL:
the person's manager from the roster, the next manager up when the manager has left or is the
subject, the next rule or the fallback when there is none; items carry the roster's word."""

from __future__ import annotations

from foureyes import review
from foureyes.config import parse_config
from foureyes.connectors.base import SourceBuilder
from foureyes.connectors.roster import records as r
from foureyes.connectors import demo
from foureyes.model import CODE_PUSH, Grant, Kind, Principal, Resource
from foureyes.store import Store
from foureyes.workspace import Workspace

CONFIG = parse_config("""
[tiers.production]
github_repos = ["acme/api"]
[identity]
email_domains = ["acme.com"]
[campaigns]
fallback_reviewer = "ciso@acme.com"
""", "<manager test>")
# person -> (status, manager); everyone but the managers pushes acme/api
ROSTER = {
    "alice@acme.com": ("active", "bob@acme.com"),  # plain: bob reviews
    "carol@acme.com": ("active", "dave@acme.com"),  # dave left: erin, above him, reviews
    "dave@acme.com": ("terminated", "erin@acme.com"),
    "erin@acme.com": ("active", ""),
    "bob@acme.com": ("active", "erin@acme.com"),
    "fay@acme.com": ("active", "fay@acme.com"),  # her own manager (top of the tree): the fallback
    "gus@acme.com": ("active", ""),  # no manager: the fallback
    "hal@acme.com": ("active", "ivy@acme.com"),  # ivy is suspended, and so is her manager: erin above both
    "ivy@acme.com": ("suspended", "jon@acme.com"),
    "jon@acme.com": ("terminated", "erin@acme.com"),
}
PUSHERS = ("alice", "carol", "dave", "fay", "gus", "hal")


def _sources():
    gh, hr = SourceBuilder(), SourceBuilder()
    repo = gh.resource(Resource("github", "repo", "acme/api", tier="production"))
    for name in PUSHERS:
        gh.principal(Principal("github", name, Kind.USER, name.title(), f"{name}@acme.com",
                               attrs={"email_source": "saml"}))
        gh.grant(Grant("github", f"github:{name}", "write", repo, (CODE_PUSH,), detail="direct collaborator"))
    for email, (status, manager) in ROSTER.items():
        hr.principal(r.person("roster", email, name=email.split("@")[0].title(), email=email, status=status,
                              manager=manager, department="Engineering"))
    return [gh.result("github", "github"), hr.result("roster", "roster")]


def test_the_manager_rule(store_url):
    with Store(store_url) as store:
        store.write_snapshot(_sources(), taken_at="2026-11-02T08:00:00+00:00")
        workspace = Workspace(CONFIG, store)
        spec = workspace.campaign_spec(name="Managers", scope=review.Scope(kind="all"),
                                       reviewers=review.ReviewerRules(rules=("manager",), fallback="ciso@acme.com"))
        campaign = workspace.create_campaign(spec, actor="security@acme.com")
        items = {i.person: i for i in workspace.items(campaign.id)}
        assert {p: (i.reviewer, i.reviewer_rule) for p, i in items.items()} == {
            "alice@acme.com": ("bob@acme.com", "manager (roster)"),
            "carol@acme.com": ("erin@acme.com", "next manager up (roster): dave@acme.com has left"),
            "dave@acme.com": ("erin@acme.com", "manager (roster)"),  # a leaver's own items go to their manager
            "fay@acme.com": ("ciso@acme.com", "fallback reviewer"),  # she is the subject; nobody above her
            "gus@acme.com": ("ciso@acme.com", "fallback reviewer"),
            "hal@acme.com": ("erin@acme.com", "next manager up (roster): ivy@acme.com has left; "
                                              "jon@acme.com has left"),
        }
        dave = items["dave@acme.com"]
        assert (dave.person_status, dave.person_manager, dave.person_department) == (
            "terminated", "erin@acme.com", "Engineering")
        assert dave.person_left and not items["alice@acme.com"].person_left
        # the filter language reads the roster's word
        left = review.ItemFilter.parse(["status:left"], strict=True)
        assert [i.person for i in workspace.items(campaign.id, where=left)] == ["dave@acme.com"]
        # leavers: only the people the roster says left
        leavers = workspace.create_campaign(workspace.campaign_spec(
            name="Leavers", scope=review.Scope(kind="leavers"),
            reviewers=review.ReviewerRules(rules=("manager",))), actor="security@acme.com")
        assert [(i.person, i.reviewer) for i in workspace.items(leavers.id)] == [("dave@acme.com", "erin@acme.com")]


def test_leavers_campaign_on_the_demo_goes_to_each_leavers_manager(store_url):
    """`foureyes campaign new --scope leavers --reviewers manager` on Acme: Omar's items to Wanda,
    Fatima's to Priya, every grant of theirs (any tier)."""
    with Store(store_url) as store:
        list(demo.load_into(store))
        workspace = Workspace(demo.demo_config(), store)
        campaign = workspace.create_campaign(workspace.campaign_spec(
            name="Leavers", scope=review.Scope(kind="leavers"), reviewers=review.ReviewerRules(rules=("manager",))),
            actor="security@acme.com")
        items = workspace.items(campaign.id)
        assert {(i.person, i.reviewer, i.reviewer_rule) for i in items} == {
            ("omar.osman@acme.com", "wanda.webb@acme.com", "manager (roster)"),
            ("fatima.farouk@acme.com", "priya.patel@acme.com", "manager (roster)")}
        assert {i.tier for i in items} >= {"production", "unclassified"}
        assert all(i.person_status == "terminated" for i in items)
        # movers: Pedro's old team's grants, to his new manager
        movers = workspace.create_campaign(workspace.campaign_spec(
            name="Movers", scope=review.Scope(kind="movers"), reviewers=review.ReviewerRules(rules=("manager",))),
            actor="security@acme.com")
        moved = workspace.items(movers.id)
        assert {(i.person, i.reviewer, i.person_department) for i in moved} == {
            ("pedro.pinto@acme.com", "priya.patel@acme.com", "Data")}
        assert {i.resource for i in moved} >= {"github:repo:acme/payments-api"}


def test_roster_findings_from_a_stored_snapshot(store_url):
    """Leavers, orphans, the mover (against the October snapshot's departments, read back from the
    store) and the drifted synchronised team, on each backend."""
    with Store(store_url) as store:
        list(demo.load_into(store))
        analysis = Workspace(demo.demo_config(), store).analysis()
    found = {(f.rule.id, f.person or f.scope) for f in analysis.findings if f.rule.kind == "roster"}
    assert found == {
        ("FE-ROS-001", "omar.osman@acme.com"), ("FE-ROS-001", "fatima.farouk@acme.com"),
        ("FE-ROS-002", "github:contractor-jq"), ("FE-ROS-002", "aws:arn:aws:iam::111111111111:user/ci-legacy"),
        ("FE-ROS-003", "pedro.pinto@acme.com"), ("FE-ROS-004", "github:team/acme/web")}
    assert analysis.baseline is not None and analysis.baseline.label.startswith("snapshot 1 ")
