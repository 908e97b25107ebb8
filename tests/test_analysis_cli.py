"""The analysis commands' JSON shapes (a stable interface, docs/cli.md) and safe table output."""

from __future__ import annotations

import csv
import io
import json


def _json(cli, *args):
    result = cli(*args, "--format", "json")
    assert result.returncode in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_who_can_json_shape(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "who-can", "deploy.run", "--tier", "production")
    assert {"capability", "tier", "snapshot", "people"} <= set(data)
    assert data["capability"] == "deploy.run" and data["tier"] == "production" and data["snapshot"] == 2
    people = {p["person"]: p for p in data["people"]}
    assert "max.mueller@acme.com" in people and "pedro.pinto@acme.com" not in people
    max_ = people["max.mueller@acme.com"]
    assert {"person", "accounts", "paths"} <= set(max_)
    assert "aws:sso:d-9067c1a2b3:user/max.mueller" in max_["accounts"]
    (path,) = max_["paths"]
    assert path[0] == "Max Mueller <max.mueller@acme.com>"
    assert path[2] == "SSO group payments-oncall (member of SSO group payments-oncall)"
    assert path[-1].startswith("deploy.run (ecs:UpdateService")


def test_who_can_scope_filter(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "who-can", "deploy.run", "--scope", "app:payments")
    assert all(h["app"] == "payments" for p in data["people"] for h in p["holdings"])
    data = _json(cli, "-c", str(demo_config_file), "who-can", "code.push", "--scope", "acme/deploy-tools")
    assert {p["person"] for p in data["people"]} >= {"paul.platt@acme.com", "sam.sato@acme.com"}


def test_conflicts_json_shape(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "conflicts")
    assert data["snapshot"] == 2 and len(data["findings"]) == 44  # 33 possible, 4 of the roster, 7 proven in the quarter
    finding = next(f for f in data["findings"] if f["rule"] == "FE-SOD-003" and f["person"] == "max.mueller@acme.com")
    assert {"id", "rule", "severity", "person", "scope", "capabilities", "paths"} <= set(finding)
    assert finding["severity"] == "critical" and finding["scope"] == "app:payments"
    assert set(finding["capabilities"]) == {"code.merge_unreviewed", "deploy.run"}
    assert all(p[0] == "Max Mueller <max.mueller@acme.com>" for p in finding["paths"])
    # the id is stable: the same finding in the older snapshot has the same id
    older = _json(cli, "-c", str(demo_config_file), "conflicts", "--snapshot", "1")
    assert finding["id"] in {f["id"] for f in older["findings"]}


def test_drift_json_shape(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "drift")
    assert data["from"] == 1 and data["to"] == 2
    assert set(data["grants"]) == {"added", "removed"} and set(data["findings"]) == {"added", "removed"}
    # Nina's new conflict, and what the roster says changed in November (docs/sources/roster.md)
    assert sorted(f["person"] or f["subject"] for f in data["findings"]["added"]) == [
        "fatima.farouk@acme.com", "github:team/acme/web", "nina.nakamura@acme.com", "omar.osman@acme.com",
        "pedro.pinto@acme.com"]
    assert len(data["grants"]["added"]) == 4 and len(data["grants"]["removed"]) == 2


def test_matrix_json_and_filters(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "matrix", "--team", "sre")
    assert {r["person"] for r in data["rows"]} == {"sam.sato@acme.com", "sid.shah@acme.com", "sue.sorensen@acme.com"}
    assert all(r["conflict"] for r in data["rows"])
    only = _json(cli, "-c", str(demo_config_file), "matrix", "--conflicts-only")
    # the people in the seeded conflicts (ci-legacy's only finding is now a roster one)
    assert all(r["conflict"] for r in only["rows"]) and len(only["rows"]) == 15


def test_identities_json_counts(cli, demo_store, demo_config_file):
    data = _json(cli, "-c", str(demo_config_file), "identities")
    assert data["counts"]["unlinked"] == 5
    suggestions = _json(cli, "-c", str(demo_config_file), "identities", "--suggest")["suggestions"]
    assert {(s["account"], s["person"]) for s in suggestions} == {
        ("github:dkim", "dkim@acme.com"), ("github:jsmith-acme", "john.smith@acme.com")}


def test_hostile_display_name_is_literal_in_tables_and_neutralised_in_csv(cli, demo_store, demo_config_file):
    table = cli("-c", str(demo_config_file), "identities")
    assert '[bold red]Zed[/] =HYPERLINK("http://x")' in table.stdout.replace("\n", "")
    assert "\x1b[1" not in table.stdout  # no markup was turned into escapes
    raw = cli("-c", str(demo_config_file), "identities", "--format", "csv").stdout
    rows = list(csv.reader(io.StringIO(raw)))
    zed = next(r for r in rows if r[0] == "zed.zimmer@acme.com")
    assert zed[1] == '[bold red]Zed[/] =HYPERLINK("http://x")'


def test_unknown_snapshot_is_a_clear_error(cli, demo_store):
    result = cli("conflicts", "--snapshot", "42")
    assert result.returncode == 2
    assert result.stderr.strip() == "foureyes: error: snapshot 42 does not exist; `foureyes snapshots` lists them"


def test_empty_store_says_what_to_do(cli):
    result = cli("conflicts")
    assert result.returncode == 2
    assert "foureyes demo --load" in result.stderr


def test_tables_at_100_columns_keep_ids_and_headers_whole(cli, demo_store, demo_config_file):
    """A terminal 100 columns wide: no finding id is wrapped, no header is broken inside a word,
    no line is wider than the terminal, and what is left out is said."""
    wide = json.loads(cli("-c", str(demo_config_file), "conflicts", "--format", "json").stdout)
    ids = {f["id"] for f in wide["findings"]}
    for args in (("conflicts",), ("check",), ("identities",), ("matrix",)):
        result = cli("-c", str(demo_config_file), *args, env={"COLUMNS": "100"})
        lines = result.stdout.splitlines()
        assert lines and all(len(line) <= 100 for line in lines), args
        header = next(n for n, line in enumerate(lines) if set(line.strip()) == {"─"}) - 1
        words = " ".join(lines[1:header + 1]).split()  # the header's lines, above its rule
        assert all(w in ("id", "severity", "rule", "title", "person", "or", "resource", "scope", "capabilities",
                         "status", "name", "linked", "account", "method", "evidence", "conflict", "code", "push",
                         "merge_unreviewed", "approve", "deploy", "run", "access", "admin") for w in words), words
        if args[0] in ("conflicts", "check"):
            shown = {line.split()[0] for line in lines[header + 2:] if line[:1].strip()}
            assert shown <= ids and (args[0] == "check" or shown == ids), args  # whole ids, one per row
    narrow = cli("-c", str(demo_config_file), "conflicts", env={"COLUMNS": "100"})
    assert "columns left out at 100 columns (rule, capabilities)" in narrow.stderr
