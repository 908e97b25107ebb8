"""Revocation tickets as GitHub issues against the fake GitHub server, through PyGithub over HTTP:
a dry run by default, no duplicates on re-export, closed once a later snapshot verifies them."""

from __future__ import annotations

import dataclasses

import pytest

from fakes.github_server import FakeGitHub
from foureyes import review
from foureyes.errors import ConfigError
from foureyes.export import github_issues, tickets
from foureyes.export.github_issues import ExistingIssue, IssueTargetError

from .conftest import EXPORT_CONFIG_TOML, HOSTILE

TOKEN_ENV = "FOUREYES_TEST_ISSUES_TOKEN"
TOKEN = "ghp_exporttesttoken0123456789abcdefABCDEF"
REPO = "access-reviews"
ISSUES_ORG = {"org": {"login": "acme", "name": "Acme"},
              "people": [{"login": "foureyes-bot", "name": "foureyes bot", "role": "member"}],
              "repos": [{"name": REPO}]}


@pytest.fixture
def github():
    with FakeGitHub(ISSUES_ORG) as server:
        yield server


@pytest.fixture
def run_export_here(store, github, tmp_path, monkeypatch):
    """`foureyes -c CONFIG ARGS` in this process (click's runner), against the fake GitHub."""
    from click.testing import CliRunner

    from foureyes.cli import main

    path = tmp_path / "foureyes.toml"
    path.write_text(EXPORT_CONFIG_TOML + f'\n[export.github]\nrepo = "acme/{REPO}"\nbase_url = "{github.url}"\n'
                    f'token_env = "{TOKEN_ENV}"\nseconds_between_writes = 0.0\n')
    monkeypatch.setenv("FOUREYES_STORE_URL", store.engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv(TOKEN_ENV, TOKEN)

    def call(*args: str):
        return CliRunner().invoke(main, ["-c", str(path), *args], catch_exceptions=False)
    return call


def _config(export_config, github, **overrides):
    settings = dict(repo=f"acme/{REPO}", base_url=github.url, token_env=TOKEN_ENV, seconds_between_writes=0.0,
                    max_retries=2)
    target = dataclasses.replace(export_config.export.github, **{**settings, **overrides})
    return dataclasses.replace(export_config, export=dataclasses.replace(export_config.export, github=target))


def _export(store, config, *, apply, group=False):
    found = tickets.build(store, config, 1, group=group)
    return github_issues.export(found, config, apply=apply, environ={TOKEN_ENV: TOKEN})


def _issues(github):
    return github.org.issues.get(REPO, [])


def _writes(github):
    github.settle()
    return sum(github.stats.count("*", method) for method in ("POST", "PATCH"))


def test_dry_run_lists_what_would_happen_and_writes_nothing(store, export_config, github):
    config = _config(export_config, github)
    result = _export(store, config, apply=False)
    assert not result.applied
    assert [a.action for a in result.actions] == ["create"] * 4
    assert _issues(github) == [] and _writes(github) == 0
    line = next(a for a in result.actions if "Walter" in a.title).describe(applied=False)
    assert line.startswith("would create") and "Revoke write on acme/storefront-web from Walter Wong" in line


def test_reexport_creates_no_duplicates_and_closes_the_issue_a_later_snapshot_verified(
        store, export_config, github, later_snapshot):
    config = _config(export_config, github)
    first = _export(store, config, apply=True)
    assert [a.action for a in first.actions] == ["create"] * 4
    issues = _issues(github)
    assert len(issues) == 4 and {i["state"] for i in issues} == {"open"}
    for issue, action in zip(issues, first.actions):
        assert issue["number"] == action.number
        assert issue["body"].startswith(f"<!-- foureyes:ticket:{action.key} ")
        assert {label["name"] for label in issue["labels"]} >= {"access-review"}
    walter = next(i for i in issues if "Walter" in i["title"])
    assert "Remove walter-web from Okta group Engineering - Web" in walter["body"]  # team web is synchronised
    assert any(label["name"] == "severity:high" for label in walter["labels"])

    # the same campaign again: nothing to write, still four issues
    writes = _writes(github)
    again = _export(store, config, apply=True)
    assert [a.action for a in again.actions] == ["unchanged"] * 4
    assert len(_issues(github)) == 4 and _writes(github) == writes

    # Walter left team web and Zed's grant is gone: their issues close, with a comment; nothing is filed twice
    later = later_snapshot()
    third = _export(store, config, apply=True)
    actions = {a.title: a.action for a in third.actions}
    assert actions["Revoke write on acme/storefront-web from Walter Wong"] == "close"
    assert sorted(actions.values()) == ["close", "close", "unchanged", "unchanged"]
    issues = _issues(github)
    assert len(issues) == 4
    walter = next(i for i in issues if "Walter" in i["title"])
    assert (walter["state"], walter["state_reason"]) == ("closed", "completed")
    assert walter["comment_bodies"] == [f"foureyes: verified: the grant is gone in snapshot {later}; closing."]
    assert f"verified: gone in snapshot {later}" in walter["body"]
    assert sum(i["state"] == "open" for i in issues) == 2
    assert [a.action for a in _export(store, config, apply=True).actions] == ["unchanged"] * 4


def test_an_issue_whose_label_was_removed_is_reported_and_its_ticket_filed_again(store, export_config, github):
    # foureyes adopts only issues that carry its label: anyone may write a marker (issue 16)
    config = _config(export_config, github)
    _export(store, config, apply=True)
    tidied = _issues(github)[0]
    tidied["labels"] = []  # someone tidied the labels
    result = _export(store, config, apply=True)
    assert len(_issues(github)) == 5
    assert sorted(a.action for a in result.actions) == ["create"] + ["unchanged"] * 3
    assert [i.issue.number for i in result.ignored] == [tidied["number"]]
    assert "does not carry the label 'access-review'" in result.ignored[0].why
    assert tidied["labels"] == [] and tidied["comments"] == 0  # left alone


def _plant(github, ticket, *, author, labels, state="closed"):
    return github.plant_issue(REPO, title=ticket.title, body=github_issues.issue_body(ticket), author=author,
                              labels=labels, state=state)


def test_a_planted_issue_is_reported_never_adopted_and_the_ticket_is_filed(store, export_config, github,
                                                                          run_export_here):
    """A closed issue with a ticket's marker, opened by someone else or without the label, would
    keep the revocation ticket closed if adopted: it is reported and a new ticket is filed."""
    config = _config(export_config, github)
    found = tickets.build(store, config, 1)
    by_mallory = _plant(github, found.tickets[0], author="mallory", labels=("access-review",))
    unlabelled = _plant(github, found.tickets[1], author="foureyes-bot", labels=())
    result = _export(store, config, apply=True)
    assert result.identity == "foureyes-bot"
    assert [a.action for a in result.actions] == ["create"] * 4
    created = {a.key: a.number for a in result.actions}
    assert created[found.tickets[0].key] not in (by_mallory["number"], unlabelled["number"])
    assert [(i.issue.number, i.issue.author) for i in result.ignored] == [
        (by_mallory["number"], "mallory"), (unlabelled["number"], "foureyes-bot")]
    assert "was opened by mallory, not by the token's own identity foureyes-bot" in result.ignored[0].describe()
    assert "does not carry the label 'access-review'" in result.ignored[1].describe()
    for planted in (by_mallory, unlabelled):  # never touched: no comment, still closed
        assert planted["state"] == "closed" and planted["comments"] == 0
    # the command line says so: a warning per planted issue, and the summary counts them
    shown = run_export_here("export", "tickets", "--campaign", "1", "--format", "github")
    assert shown.exit_code == 0, shown.stderr
    assert f"foureyes: warning: issue #{by_mallory['number']} starts with the marker of ticket " \
           f"{found.tickets[0].key} but was opened by mallory" in shown.stderr
    assert "2 issues with a ticket marker not adopted (not made by foureyes)" in shown.stderr


def test_an_installation_token_adopts_the_issues_its_app_bot_opened(store, export_config, github):
    # GET /user refuses an installation token (403); GraphQL's viewer names the app's bot
    config = _config(export_config, github)
    environ = {TOKEN_ENV: "ghs_installationtoken0123456789"}
    first = github_issues.export(tickets.build(store, config, 1), config, apply=True, environ=environ)
    assert first.identity == "foureyes-app[bot]" and [a.action for a in first.actions] == ["create"] * 4
    assert {i["user"]["login"] for i in _issues(github)} == {"foureyes-app[bot]"}
    again = github_issues.export(tickets.build(store, config, 1), config, apply=True, environ=environ)
    assert [a.action for a in again.actions] == ["unchanged"] * 4 and again.ignored == ()
    # the same issues seen through a personal token are someone else's
    other = _export(store, config, apply=False)
    assert [a.action for a in other.actions] == ["create"] * 4 and len(other.ignored) == 4
    assert github.stats.count("/user", "GET") >= 3


def test_a_regression_reopens_and_an_undone_revocation_closes_as_not_planned(store, export_config, github,
                                                                              later_snapshot):
    config = _config(export_config, github)
    _export(store, config, apply=True)
    later_snapshot()
    _export(store, config, apply=True)  # walter's and zed's close
    from foureyes.connectors import demo

    store.write_snapshot(demo.build("after"), label="walter is back in team web")
    result = _export(store, config, apply=True)
    reopened = next(a for a in result.actions if "Walter" in a.title)
    assert reopened.action == "reopen"
    walter = next(i for i in _issues(github) if "Walter" in i["title"])
    assert walter["state"] == "open" and walter["comment_bodies"][-1].startswith("foureyes: regressed")

    # the contractor's revocation is changed to a deferral: its open issue is closed as not planned
    contractor_item = next(i for i in review.items(store, 1, states=["revoke"]) if i.person == "github:contractor-jq")
    review.decide(store, contractor_item.id, "defer", actor=contractor_item.reviewer, reason="ask the vendor first")
    result = _export(store, config, apply=True)
    withdrawn = [a for a in result.actions if a.action == "withdraw"]
    assert len(withdrawn) == 1 and "JQ Contracting" in withdrawn[0].title
    contractor = next(i for i in _issues(github) if "JQ Contracting" in i["title"])
    assert (contractor["state"], contractor["state_reason"]) == ("closed", "not_planned")


def test_grouped_and_single_issues_do_not_close_each_other(store, export_config, github):
    config = _config(export_config, github)
    _export(store, config, apply=True)
    grouped = _export(store, config, apply=True, group=True)
    assert [a.action for a in grouped.actions] == ["create"] * 2  # a grouped run never withdraws single tickets
    assert sum(i["state"] == "open" for i in _issues(github)) == 6


def test_a_marker_quoted_inside_a_body_cannot_claim_an_issue(store, export_config, github):
    config = _config(export_config, github)
    found = tickets.build(store, config, 1)
    key = found.tickets[0].key
    forged = ExistingIssue(number=9, key="", title="x", body=f"hello <!-- foureyes:ticket:{key} -->", state="open",
                           labels=(), url="")
    assert not github_issues.MARKER_AT_START.match(forged.body)
    # the hostile display name is in a code span in the body, and the title is one line
    zed = next(t for t in found.tickets if t.revocations[0].item.person == "zed.zimmer@acme.com")
    body = github_issues.issue_body(zed)
    assert "\n" not in zed.title and "=HYPERLINK" in zed.title
    assert "``" in body and HOSTILE.split("\n")[0] in body


def test_token_errors_are_one_line_and_never_show_the_token(cli, store, export_config, github, tmp_path):
    path = tmp_path / "foureyes.toml"
    path.write_text(EXPORT_CONFIG_TOML + f'\n[export.github]\nrepo = "acme/{REPO}"\nbase_url = "{github.url}"\n'
                    f'token_env = "{TOKEN_ENV}"\nseconds_between_writes = 0.0\n')
    env = {"FOUREYES_STORE_URL": store.engine.url.render_as_string(hide_password=False)}
    result = cli("-c", str(path), "export", "tickets", "--campaign", "1", "--format", "github", env=env)
    assert result.returncode == 2
    gaps, error = result.stderr.strip().splitlines()  # the campaign's snapshot has a gap: said first, in one line
    assert gaps.startswith("foureyes: campaign 1's snapshot 3 has 2 gaps: ")  # the bypass list, an unread Actions run
    assert error == (f"foureyes: error: no GitHub token: set the environment variable {TOKEN_ENV} to a "
                     f"token that may write issues in acme/{REPO} ([export.github] token_env names it)")
    # the dry run through the CLI: data on stdout, the summary on stderr
    result = cli("-c", str(path), "export", "tickets", "--campaign", "1", "--format", "github",
                 env={**env, TOKEN_ENV: TOKEN})
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("would create") == 4 and _issues(github) == []
    assert "dry run, nothing was changed in acme/access-reviews (4 create); --apply does it" in result.stderr
    result = cli("-c", str(path), "export", "tickets", "--campaign", "1", "--format", "github", "--apply",
                 env={**env, TOKEN_ENV: TOKEN})
    assert result.returncode == 0 and result.stdout.count("created") == 4 and len(_issues(github)) == 4
    github.org.token["reject"] = True
    result = cli("-c", str(path), "export", "tickets", "--campaign", "1", "--format", "github",
                 env={**env, TOKEN_ENV: TOKEN})
    assert result.returncode == 3
    assert result.stderr.strip().splitlines()[-1] == \
        f"foureyes: error: GitHub rejected the token in {TOKEN_ENV} (401 Bad credentials)"
    assert TOKEN in github.tokens and all(TOKEN not in out for out in (result.stdout, result.stderr))


def test_a_token_pasted_into_the_config_is_refused_without_being_repeated(store, export_config, github):
    config = _config(export_config, github, token_env=TOKEN)
    with pytest.raises(ConfigError) as caught:
        _export(store, config, apply=False)
    assert caught.value.key == "export.github.token_env"
    assert "must be the NAME of an environment variable" in str(caught.value) and TOKEN not in str(caught.value)


def test_github_refusing_a_write_stops_with_what_was_done(store, export_config, github):
    config = _config(export_config, github)
    github.faults.add(f"/repos/acme/{REPO}/issues", method="POST", nth=3, status=403,
                      body={"message": "Resource not accessible by integration"})
    with pytest.raises(IssueTargetError) as caught:
        _export(store, config, apply=True)
    assert str(caught.value) == (f"the token in {TOKEN_ENV} may not write issues in acme/{REPO} (403: Resource not "
                                 "accessible by integration) (after 2 change(s); re-running is safe: it finds the "
                                 "issues already filed by their marker)")
    github.faults.clear()
    result = _export(store, config, apply=True)
    assert sorted(a.action for a in result.actions) == ["create", "create", "unchanged", "unchanged"]
    assert len(_issues(github)) == 4


def test_missing_or_malformed_repo_is_a_config_error_naming_the_key(export_config):
    with pytest.raises(ConfigError) as caught:
        github_issues.target(export_config)
    assert caught.value.key == "export.github.repo" and 'repo = "acme/access-reviews"' in str(caught.value)
    bad = dataclasses.replace(export_config, export=dataclasses.replace(
        export_config.export, github=dataclasses.replace(export_config.export.github, repo="acme")))
    with pytest.raises(ConfigError, match="expected OWNER/NAME, got 'acme'"):
        github_issues.target(bad)


def test_a_failed_search_falls_back_to_the_label_listing_with_a_warning(store, export_config, github):
    config = _config(export_config, github)
    _export(store, config, apply=True)
    github.faults.add("/search/issues", status=422, times=10, body={"message": "Validation Failed"})
    result = _export(store, config, apply=True)
    assert [a.action for a in result.actions] == ["unchanged"] * 4
    assert result.warnings == ("searching issues by marker failed (GitHub answered 422 for acme/access-reviews: "
                               "Validation Failed); issues were found by the label 'access-review' only",)
    no_labels = _config(export_config, github, labels=[])
    with pytest.raises(IssueTargetError, match="422"):
        _export(store, no_labels, apply=False)


def test_an_issue_body_longer_than_github_allows_is_cut_at_a_line_and_says_where_the_rest_is(store, export_config):
    found = tickets.build(store, export_config, 1, group=True)
    web = next(t for t in found.tickets if len(t.revocations) == 3)
    huge = dataclasses.replace(web, revocations=web.revocations * 400)
    body = github_issues.issue_body(huge)
    assert len(body) <= github_issues.BODY_LIMIT
    assert github_issues.MARKER_AT_START.match(body).group(1) == web.key
    assert body.endswith("The whole ticket: `foureyes export tickets --campaign 1 --format markdown --group`.)\n")
