"""A canary token planted in the environment and in the config never appears anywhere foureyes writes.

The store, stdout and stderr of every command (including failures and gaps), exports and
the evidence report are all searched for it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fakes import config_toml
from fakes.github_server import FakeGitHub, load_fixture

GITHUB_CANARY = "ghp_CANARYcanary0123456789abcdefCANARY42"
AWS_CANARY = "wJalrCANARYcanaryEXAMPLEKEY0123456789ab"
URL_CANARY = "pw-CANARY-in-a-store-url-7731"
CANARIES = (GITHUB_CANARY, AWS_CANARY, URL_CANARY, "CANARY")


def _clean(text: str | bytes, where: str) -> None:
    data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
    for canary in CANARIES:
        assert canary.encode() not in data, f"{canary!r} leaked into {where}"


@pytest.fixture
def outputs(tmp_path, cli):
    """Run a session of commands with the canaries planted; yield every output and written file."""
    store = tmp_path / "canary.db"
    env = {"GITHUB_TOKEN": GITHUB_CANARY, "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
           "AWS_SECRET_ACCESS_KEY": AWS_CANARY, "FOUREYES_STORE_URL": f"sqlite:///{store}"}
    texts: dict[str, str] = {}
    files: list[Path] = []
    with FakeGitHub(load_fixture("scenarios.yaml")) as gh:
        gh.faults.server_error("/repos/acme/webhooks/collaborators", times=10)  # a gap with an error text
        gh.faults.add("/orgs/acme/teams/web/repos", status=403, times=10,
                      body={"message": f"Forbidden for token {GITHUB_CANARY[:8]}…"})
        config = tmp_path / "foureyes.toml"
        # exports file issues in the fake too, with the GITHUB_TOKEN canary ([sources.github] token_env)
        config.write_text(config_toml(gh.url, extra='\n[campaigns]\nfallback_reviewer = "sec@acme.com"\n'
                                                    '\n[export.github]\nrepo = "acme/ledger"\n'
                                                    'seconds_between_writes = 0.0\n'))
        base = ["-c", str(config)]
        commands = [
            ["snapshot", "--stats"], ["snapshot", "--format", "json", "--stats"], ["snapshots", "--format", "json"],
            ["conflicts"], ["conflicts", "--format", "json"], ["conflicts", "--format", "csv"],
            ["check"], ["check", "--format", "json"], ["who-can", "code.push", "--format", "json"],
            ["identities", "--format", "csv"], ["drift", "--format", "json"],
        ]
        for args in commands:
            result = cli(*base, *args, env=env)
            texts[" ".join(args)] = result.stdout + result.stderr
        # a campaign with a revocation, its tickets in every format, GitHub issues and the evidence report
        assert cli(*base, "campaign", "new", "--as", "sec@acme.com", env=env).returncode == 0
        shown = json.loads(cli(*base, "campaign", "show", "1", "--items", "--format", "json", env=env).stdout)
        item = shown["items"][0]["id"]
        assert cli(*base, "decide", str(item), "revoke", "--reason", "canary run", "--as", "sec@acme.com",
                   env=env).returncode == 0
        tickets, evidence = tmp_path / "tickets.csv", tmp_path / "evidence.html"
        exports = [["export", "tickets", "--format", fmt] for fmt in ("json", "markdown", "jira-csv")]
        exports += [["export", "tickets", "--format", "csv", "--group", "--out", str(tickets)],
                    ["export", "tickets", "--format", "github"], ["export", "tickets", "--format", "github", "--apply"],
                    ["report", "--out", str(evidence)], ["report", "--format", "markdown"]]
        for args in exports:
            result = cli(*base, *args, env=env)
            assert result.returncode == 0, result.stderr
            texts[" ".join(args)] = result.stdout + result.stderr
        files += [tickets, evidence]
        issues = gh.org.issues.get("ledger", [])
        assert issues and GITHUB_CANARY in gh.tokens  # the canary was the token, and issues were filed
        texts["issues filed"] = json.dumps(issues)
    # the canary in the config: a token pasted where its variable's name belongs, a password in a URL
    pasted = tmp_path / "pasted.toml"
    pasted.write_text(f'[sources.github]\norg = "acme"\ntoken_env = "{GITHUB_CANARY}"\nbase_url = "http://127.0.0.1:1"\n')
    result = cli("-c", str(pasted), "snapshot", env=env)
    assert result.returncode == 3 and "token_env must be the NAME" in result.stderr
    texts["pasted token"] = result.stdout + result.stderr
    bad_store = tmp_path / "store.toml"
    bad_store.write_text(f'[store]\nurl = "postgresql+psycopg://auditor:{URL_CANARY}@127.0.0.1:1/foureyes"\n')
    result = cli("-c", str(bad_store), "snapshots", env={k: v for k, v in env.items() if k != "FOUREYES_STORE_URL"})
    assert result.returncode == 2
    texts["store url with a password"] = result.stdout + result.stderr
    files += [store] + [p for p in store.parent.glob("canary.db*")]
    yield texts, files


def test_no_output_and_no_file_contains_a_secret(outputs):
    texts, files = outputs
    assert "snapshot --stats" in texts and "stats: github" in texts["snapshot --stats"]
    for where, text in texts.items():
        _clean(text, where)
    for path in files:
        if path.exists():
            _clean(path.read_bytes(), str(path))
    # the session did produce real output about the faults, so the search had something to search
    snapshot = json.loads(texts["snapshots --format json"])
    assert snapshot["snapshots"] and snapshot["snapshots"][0]["gaps"] >= 1
