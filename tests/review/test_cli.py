"""The review commands as a user runs them: campaign, decide, undo, note, exception, audit."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from .conftest import FALLBACK

PRISCILLA, WANDA = "priscilla.payne@acme.com", "wanda.webb@acme.com"


@pytest.fixture
def run(store, store_url, review_config_file, cli):
    """`foureyes -c CONFIG ARGS` against the test store, as a user runs it (in this process)."""
    def call(*args: str, input: str | None = None):
        return cli("-c", str(review_config_file), *args, env={"FOUREYES_STORE_URL": store_url}, input=input)
    return call


@pytest.fixture
def run_here(store, store_url, review_config_file, monkeypatch):
    """The same in this process (click's runner): the error paths, without an interpreter per call."""
    from click.testing import CliRunner

    from foureyes.cli import main

    monkeypatch.setenv("FOUREYES_STORE_URL", store_url)
    runner = CliRunner()

    def call(*args: str, input: str | None = None):
        result = runner.invoke(main, ["-c", str(review_config_file), *args], input=input, catch_exceptions=False)
        return SimpleNamespace(returncode=result.exit_code, stdout=result.stdout, stderr=result.stderr)
    return call


def _json(result) -> dict:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _check(run) -> dict:
    result = run("check", "--format", "json")
    assert result.returncode == 1, result.stderr  # Acme has other open findings
    return json.loads(result.stdout)


def _one_line_error(result, *words: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("foureyes: error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.stderr


def test_campaign_lifecycle_from_the_command_line(run):
    created = _json(run("campaign", "new", "--name", "Q4 production", "--as", "security@acme.com",
                        "--format", "json"))
    cid = created["id"]
    assert created["created"] and created["items"] == 111 and created["snapshot"] == 2
    assert created["by_reviewer"] == {FALLBACK: 13, "paul.platt@acme.com": 26, PRISCILLA: 34, WANDA: 38}
    assert set(created["reviewers"]) == {"rules", "fixed", "fallback"}  # the rules, not the counts
    listed = _json(run("campaign", "list", "--format", "json"))["campaigns"]
    assert [(c["id"], c["status"], c["progress"]["total"]) for c in listed] == [(cid, "open", 111)]

    shown = _json(run("campaign", "show", str(cid), "--reviewer", PRISCILLA, "--format", "json"))
    pedro = [i for i in shown["items"] if i["person"] == "pedro.pinto@acme.com"]
    assert len(pedro) == 2 and pedro[0]["path"][0] == "Pedro Pinto <pedro.pinto@acme.com>"
    assert set(pedro[0]) >= {"grant", "capabilities", "conflicts", "other_holders", "new", "previous", "last_used"}

    decided = _json(run("decide", str(pedro[0]["id"]), "certify", "--reason", "on the team",
                        "--as", PRISCILLA, "--format", "json"))
    assert decided["decided"][0]["state"] == "certify" and decided["refused"] == []

    # bulk by filter: refused without --yes when not interactive, then done with it
    refused = run("decide", "--where", "person=pedro*", "--where", "state=pending", "revoke", "--as", PRISCILLA)
    assert refused.returncode == 0  # a single match is not a bulk decision
    bulk = run("decide", "--where", "app=payments", "--where", "conflict=no", "--where", "state=pending",
               "certify", "--as", PRISCILLA)
    _one_line_error(bulk, "needs --yes when not interactive")
    bulk = run("decide", "--where", "app=payments", "--where", "conflict=no", "--where", "state=pending",
               "certify", "--as", PRISCILLA, "--yes")
    assert bulk.returncode == 0, bulk.stderr
    assert "decided, 0 skipped (already decided), 0 refused" in bulk.stderr

    undone = run("undo", "--as", PRISCILLA)
    assert undone.returncode == 0 and "certify undone, now pending" in undone.stdout

    note = run("note", str(pedro[1]["id"]), "=HYPERLINK(\"x\") asked the lead", "--as", "sofia.silva@acme.com")
    assert note.returncode == 0 and "added to item" in note.stdout

    closing = run("campaign", "close", str(cid), "--as", FALLBACK)
    _one_line_error(closing, f"campaign {cid} has", "unresolved", "--force --reason")
    closed = _json(run("campaign", "close", str(cid), "--as", FALLBACK, "--force", "--reason", "quarter ended",
                       "--format", "json"))
    assert closed["status"] == "closed" and len(closed["policy_items"]) == closed["progress"]["revoked"] - 1
    verified = run("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("audit log intact:")
    log = _json(run("audit", "log", "--campaign", str(cid), "--format", "json"))["entries"]
    assert log[0]["action"] == "campaign.new" and log[-1]["action"] == "campaign.close"
    csv = run("audit", "log", "--format", "csv")
    assert "'=HYPERLINK" in csv.stdout  # a formula in a note stays text in a spreadsheet


def test_campaign_new_in_a_process_of_its_own_leaves_its_answer_whole_and_the_store_closed(
        store, store_url, review_config_file, cli_process):
    """`python -m foureyes campaign new` skips the interpreter's clean-up once it has answered
    (`AppContext.leave`): exit 0, the whole answer on stdout, and the store closed as at any close
    (SQLite's write-ahead log checkpointed into the database and removed); the campaign and its
    audit entry are there."""
    from pathlib import Path

    def run(*args: str):
        return cli_process("-c", str(review_config_file), *args, env={"FOUREYES_STORE_URL": store_url})

    store.close()  # (a connection open here would keep the log: only the last one to close removes it)
    made = _json(run("campaign", "new", "--name", "Q4", "--as", "security@acme.com", "--format", "json"))
    shown = run("campaign", "new", "--name", "Q4 again", "--as", "security@acme.com")
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith(f"campaign {made['id'] + 1} created 'Q4 again': {made['items']} items")
    assert lines[1].split() == ["reviewer", "items"] and len(lines) == 3 + len(made["by_reviewer"])
    if store_url.startswith("sqlite:///"):
        database = Path(store_url.removeprefix("sqlite:///"))
        assert database.exists() and not Path(f"{database}-wal").exists()
    verified = run("audit", "verify")
    assert verified.returncode == 0 and verified.stdout.startswith("audit log intact:"), verified.stderr
    listed = _json(run("campaign", "list", "--format", "json"))["campaigns"]
    assert [c["name"] for c in listed][-2:] == ["Q4", "Q4 again"]


def test_guards_are_one_line_errors(run_here):
    run = run_here
    cid = _json(run("campaign", "new", "--as", "security@acme.com", "--format", "json"))["id"]
    items = _json(run("campaign", "show", str(cid), "--format", "json"))["items"]
    own = next(i for i in items if i["person"] == PRISCILLA)
    _one_line_error(run("decide", str(own["id"]), "certify", "--as", PRISCILLA), "about their own access")
    pedro = next(i for i in items if i["person"] == "pedro.pinto@acme.com")
    _one_line_error(run("decide", str(pedro["id"]), "certify", "--as", WANDA), "is not a reviewer of item")
    _one_line_error(run("decide", str(pedro["id"]), "approve", "--as", PRISCILLA), "decision 'approve'")
    _one_line_error(run("decide", str(pedro["id"]), "exception", "--reason", "x", "--expires", "soon",
                        "--as", PRISCILLA), "--expires 'soon'")
    _one_line_error(run("decide", "99999", "certify", "--as", PRISCILLA), "item 99999 does not exist")
    missing = run("decide", str(pedro["id"]), "certify")
    assert missing.returncode == 2 and "--as" in missing.stderr
    _one_line_error(run("campaign", "show", "42"), "campaign 42 does not exist")
    _one_line_error(run("review", "--campaign", "42", "--as", PRISCILLA), "campaign 42 does not exist")
    _one_line_error(run("campaign", "new", "--scope", "drift", "--as", "x@acme.com"), "needs a closed campaign")


def test_exception_waits_for_a_second_approver_and_then_counts_in_check(run_here):
    run = run_here
    cid = _json(run("campaign", "new", "--as", "security@acme.com", "--format", "json"))["id"]
    items = _json(run("campaign", "show", str(cid), "--where", "person=walter*", "--where",
                      "resource=acme/storefront-web", "--format", "json"))["items"]
    walter = next(i for i in items if i["entitlement"] == "write")
    before = _check(run)
    finding = next(f for f in before["failing"] if f["person"] == "walter.wong@acme.com")

    requested = run("decide", str(walter["id"]), "exception", "--reason", "storefront on-call rota",
                    "--expires", "2099-01-01", "--as", WANDA)
    _one_line_error(requested, "at most 180 days")
    from datetime import date, timedelta

    until = (date.today() + timedelta(days=90)).isoformat()
    requested = _json(run("decide", str(walter["id"]), "exception", "--reason", "storefront on-call rota",
                          "--expires", until, "--as", WANDA, "--format", "json"))
    assert "same conflicting combination" in requested["decided"][0]["warnings"][0]
    exception_id = requested["decided"][0]["exception"]["id"]
    assert requested["decided"][0]["exception"]["status"] == "pending"
    assert finding["id"] not in _check(run)["excepted"]

    mine = _json(run("exception", "list", "--approvable-by", WANDA, "--format", "json"))["exceptions"]
    theirs = _json(run("exception", "list", "--approvable-by", FALLBACK, "--format", "json"))["exceptions"]
    assert mine == [] and [e["id"] for e in theirs] == [exception_id]
    _one_line_error(run("exception", "approve", str(exception_id), "--as", WANDA), "needs a second person")
    _one_line_error(run("exception", "approve", str(exception_id), "--as", "walter.wong@acme.com"), "own access")
    approved = run("exception", "approve", str(exception_id), "--as", FALLBACK)
    assert approved.returncode == 0 and f"approved by {FALLBACK}" in approved.stdout
    after = _check(run)
    assert finding["id"] in after["excepted"]
    conflicts = _json(run("conflicts", "--person", "walter.wong@acme.com", "--format", "json"))["findings"]
    exc = next(f for f in conflicts if f["id"] == finding["id"])["exception"]
    assert exc["approver"] == FALLBACK and f"exception {exception_id}" in exc["source"]
    listed = _json(run("exception", "list", "--status", "approved", "--format", "json"))["exceptions"]
    assert [(e["id"], e["counts"]) for e in listed] == [(exception_id, True)]


def test_template_from_cron_is_idempotent(run):
    first = _json(run("campaign", "new", "--from-template", "quarterly", "--format", "json"))
    second = _json(run("campaign", "new", "--from-template", "quarterly", "--format", "json"))
    assert first["created"] and not second["created"] and first["id"] == second["id"]
    # counted as written when created, read back when found: the same counts
    assert second["by_reviewer"] == first["by_reviewer"] and second["items"] == first["items"] > 0
    assert first["name"].startswith("Quarterly production review 20") and first["template"] == "quarterly"
    assert first["created_by"].startswith("os:")
    _one_line_error(run("campaign", "new", "--from-template", "quarterly", "--scope", "all"),
                    "--from-template takes its settings from the template; drop --scope")
    _one_line_error(run("campaign", "new", "--from-template", "yearly"), "'yearly' is not in [campaigns.templates]")
