"""A canary token planted in the environment and in the config never appears anywhere foureyes writes.

The store, stdout and stderr of every command (including failures and gaps), exports and
the evidence report are all searched for it.
"""

from __future__ import annotations

import json
import re
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
    assert "snapshot --stats" in texts and "what each source cost" in texts["snapshot --stats"]
    for where, text in texts.items():
        _clean(text, where)
    for path in files:
        if path.exists():
            _clean(path.read_bytes(), str(path))
    # the session did produce real output about the faults, so the search had something to search
    snapshot = json.loads(texts["snapshots --format json"])
    assert snapshot["snapshots"] and snapshot["snapshots"][0]["gaps"] >= 1


# ---------------------------------------------------------------- servers that echo the credentials
#
# Found: with [sources.github] base_url at a server answering 403 with the request's
# Authorization header in its body, the token was stored (sources.error, gaps.reason), printed,
# and exported (check --format json, snapshots --format csv, twice in the HTML report). Each
# connector now knows the credential values it holds and scrubs them from whatever comes back.

from fakes.echo_server import EchoServer  # noqa: E402

from .conftest import run_in_process  # noqa: E402

ECHO_GITHUB = "ghp_ECHOcanary0123456789abcdefECHO77"
ECHO_AWS_KEY_ID = "AKIAECHOCANARY012345"
ECHO_AWS_SECRET = "echoCANARYsecretKEY0123456789abcdefghij"
ECHO_AWS_SESSION = "FwoGZXIvYXdzECHOCANARYsessionTOKEN0123456789/+abcdef=="
ECHO_GCP_ACCESS = "ya29.ECHOCANARYaccessTOKEN0123456789"
ECHO_CANARIES = ("ECHO", "CANARY", ECHO_GITHUB, ECHO_AWS_KEY_ID, ECHO_AWS_SECRET, ECHO_AWS_SESSION, ECHO_GCP_ACCESS)


def _github_echo(tmp_path):
    gh = FakeGitHub(load_fixture("scenarios.yaml"))
    gh.faults.add("/orgs/acme/teams/web/repos", action="echo", status=403, times=100)  # a gap

    def fail_whole_source() -> None:  # then the organisation itself: a failed source
        gh.faults.add("/orgs/acme", action="echo", status=403, times=100)

    return (gh, lambda: config_toml(gh.url, extra="max_retries = 0\n"), {"GITHUB_TOKEN": ECHO_GITHUB},
            fail_whole_source, lambda: list(gh.tokens))


def _aws_echo(tmp_path):
    echo = EchoServer("aws")
    env = {"AWS_ACCESS_KEY_ID": ECHO_AWS_KEY_ID, "AWS_SECRET_ACCESS_KEY": ECHO_AWS_SECRET,
           "AWS_SESSION_TOKEN": ECHO_AWS_SESSION, "AWS_CONFIG_FILE": str(tmp_path / "none"),
           "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_EC2_METADATA_DISABLED": "true"}
    return (echo, lambda: f'[sources.aws]\nregion = "us-east-1"\nendpoint_url = "{echo.url}"\nmax_attempts = 1\n',
            env, None, lambda: [part for s in echo.seen for part in (
                s["token"], *re.findall(r"Signature=([0-9a-f]+)", s["authorization"]),
                *re.findall(r"Credential=([^/]+)/", s["authorization"]))])


def _gcp_echo(tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    echo = EchoServer("google", access_token=ECHO_GCP_ACCESS)
    pem = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    key = tmp_path / "key.json"  # a service-account key whose token endpoint is the echoing server
    key.write_text(json.dumps({"type": "service_account", "project_id": "echo", "private_key_id": "echo-key",
                               "private_key": pem, "client_email": "auditor@echo.iam.gserviceaccount.com",
                               "client_id": "1", "token_uri": f"{echo.url}/token"}))
    port = echo.url.rsplit(":", 1)[1]
    section = (f'[sources.gcp]\norganization = "organizations/123"\napi_endpoint = "{echo.url}"\n'
               f'iam_admin_endpoint = "127.0.0.1:{port}"\ncredentials_file = "{key}"\ntimeout = 2\n'
               "retry_deadline = 0.5\n")
    # the Google clients sign their own JWT with the key for a custom endpoint (no token exchange):
    # that bearer token is what the server sees and echoes
    return (echo, lambda: section, {}, None,
            lambda: [s["authorization"].split(" ", 1)[1] for s in echo.seen if s["authorization"]])


@pytest.mark.parametrize("cloud", ["github", "aws", "gcp"])
def test_a_server_that_echoes_the_credentials_cannot_make_foureyes_repeat_them(cloud, tmp_path):
    server, section, env, fail_whole_source, heard = {"github": _github_echo, "aws": _aws_echo,
                                                      "gcp": _gcp_echo}[cloud](tmp_path)
    store = tmp_path / "echo.db"
    config = tmp_path / "foureyes.toml"
    env = {**env, "FOUREYES_STORE_URL": f"sqlite:///{store}"}
    texts: dict[str, str] = {}

    def foureyes(*args: str) -> str:
        result = run_in_process("-c", str(config), *args, env=env)
        assert "Traceback" not in result.stderr and result.returncode in (0, 1, 3), (args, result.stderr)
        texts[" ".join(args)] = result.stdout + result.stderr
        return result.stdout

    with server:
        config.write_text(section() + '\n[campaigns]\nfallback_reviewer = "sec@acme.com"\n')
        foureyes("snapshot")
        if fail_whole_source:
            fail_whole_source()
            foureyes("snapshot", "--format", "json")
        sent = heard()  # the credentials the server saw: each must appear nowhere either
        assert sent and all(len(x) >= 16 for x in sent), "the server saw no credential: the test would prove nothing"
    for args in (["snapshots", "--format", "csv"], ["check", "--format", "json"], ["check"],
                 ["conflicts", "--format", "json"], ["campaign", "new", "--as", "sec@acme.com"],
                 ["report", "--format", "markdown"], ["report", "--out", str(tmp_path / "evidence.html")]):
        foureyes(*args)
    stored = json.loads(foureyes("snapshots", "--format", "json"))["snapshots"]
    files = [tmp_path / "evidence.html", *tmp_path.glob("echo.db*")]
    everything = "\n".join(texts.values()).encode() + b"".join(p.read_bytes() for p in files)
    for canary in (*ECHO_CANARIES, *sent):
        assert canary.encode() not in everything, f"{canary!r} leaked ({cloud})"
    # what the server said is still there, with the credential taken out: a failure or a gap says so
    assert "«redacted»".encode() in everything
    assert all(any(s["error"] or s["counts"]["gaps"] for s in snap["sources"]) for snap in stored)
