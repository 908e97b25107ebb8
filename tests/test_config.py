"""Config: the example is valid, and each kind of bad config is one clear line and exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from foureyes.config import load_config_file, parse_config
from foureyes.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid_and_documents_every_key():
    config = load_config_file(ROOT / "config.example.toml")
    assert config.sources.configured() == ["github", "aws", "gcp"]
    assert config.tier_for(system="aws", kind="account", id="111111111111") == "production"
    assert config.tier_for(system="gcp", kind="project", id="acme-prod-payments") == "production"
    assert config.tier_for(system="github", kind="environment", id="acme/api/prod-eu") == "production"
    assert config.tier_for(system="aws", kind="account", id="999", tags={"Env": "prod"}) == "production"
    assert config.tier_for(system="aws", kind="account", id="999") == "unclassified"
    assert config.app_for(system="github", kind="environment", id="acme/payments-api/production") == "payments"
    text = (ROOT / "config.example.toml").read_text()
    # every field of every section appears in the example
    import dataclasses

    from foureyes import config as c

    for cls in (c.StoreConfig, c.TierConfig, c.AppConfig, c.IdentityConfig, c.PersonConfig, c.GitHubSource,
                c.AwsSource, c.GcpSource, c.DemoSource, c.RulesConfig, c.CampaignsConfig, c.CampaignTemplate,
                c.ExportConfig, c.GitHubIssuesTarget):
        for f in dataclasses.fields(cls):
            assert f"{f.name} =" in text or f"{f.name}=" in text or f"[{f.name}" in text or f".{f.name}" in text, \
                f"{cls.__name__}.{f.name} is not documented in config.example.toml"


BAD_CONFIGS = {
    "syntax": ('[sources.github\norg = "acme"\n', ":1: ", "TOML syntax error"),
    "unknown key": ('[sources.github]\norg = "acme"\ntokn_env = "X"\n', ":3: sources.github.tokn_env: ",
                    "did you mean 'token_env'"),
    "wrong type": ('[sources.github]\norg = "acme"\nconcurrency = "lots"\n', ":3: sources.github.concurrency: ",
                   "expected an integer"),
    "wrong type in a list": ('[[apps]]\nname = "x"\nrepos = ["a", 3]\n', ":3: apps[0].repos[1]: ",
                             "expected a string"),
    "missing required key": ('[sources.github]\ntoken_env = "T"\n', "sources.github.org: ", "required key is missing"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_one_line_with_file_and_key_and_exit_2(case, tmp_path, cli):
    text, where, what = BAD_CONFIGS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    result = cli("-c", str(path), "snapshots")
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert where in lines[0]
    assert what in lines[0]
    assert "Traceback" not in result.stderr
    assert result.stdout == ""


def test_missing_config_file_is_exit_2(tmp_path, cli):
    missing = tmp_path / "nope.toml"
    result = cli("-c", str(missing), "snapshots")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"foureyes: error: {missing}: file not found; pass -c PATH or create it from config.example.toml"
    ]


def test_config_found_through_environment(tmp_path, cli):
    path = tmp_path / "env.toml"
    path.write_text("[store]\nurl = 3\n")
    result = cli("snapshots", env={"FOUREYES_CONFIG": str(path)})
    assert result.returncode == 2
    assert f"{path}:2: store.url: expected a string, got 3 (integer)" in result.stderr


def test_literal_type_and_nested_tables():
    with pytest.raises(ConfigError) as err:
        parse_config('[sources.aws]\nretry_mode = "fast"\n', "x.toml")
    assert "sources.aws.retry_mode" in str(err.value) and "'standard'" in str(err.value)
    config = parse_config('[identity.people."a@x.com"]\ngithub = ["a"]\n', "x.toml")
    assert config.identity.people["a@x.com"].github == ["a"]
    with pytest.raises(ConfigError) as err:
        parse_config('[identity.people."a@x.com"]\ngitlab = ["a"]\n', "x.toml")
    assert 'identity.people."a@x.com".gitlab' in str(err.value)
    assert str(err.value).startswith("x.toml:2:")
