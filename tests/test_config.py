"""Config: the example is valid, and each kind of bad config is one clear line and exit 2."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from foureyes.config import config_schema, load_config_file, parse_config
from foureyes.errors import ConfigError
from foureyes.schema import dotted, key_paths

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def test_example_config_is_valid():
    config = load_config_file(ROOT / "config.example.toml")
    assert config.sources.configured() == ["github", "aws", "gcp"]
    assert config.tier_for(system="aws", kind="account", id="111111111111") == "production"
    assert config.tier_for(system="gcp", kind="project", id="acme-prod-payments") == "production"
    assert config.tier_for(system="github", kind="environment", id="acme/api/prod-eu") == "production"
    assert config.tier_for(system="aws", kind="account", id="999", tags={"Env": "prod"}) == "production"
    assert config.tier_for(system="aws", kind="account", id="999") == "unclassified"
    assert config.app_for(system="github", kind="environment", id="acme/payments-api/production") == "payments"


def _switched_on(text: str) -> str:
    """The example with its commented-out settings (``# app_id = 12345``, ``# [sources.demo]``) switched on."""
    setting = re.compile(r"#\s?(\[[a-z_.]+\]\s*(#.*)?|[a-z_]+ = \S.*)$")
    return "\n".join(m.group(1) if (m := setting.match(line)) else line for line in text.splitlines())


def _written(data, keypath) -> bool:
    """Whether ``keypath`` (with "*" for a key of the user's and 0 for an array entry) is set in ``data``."""
    if not keypath:
        return True
    head, rest = keypath[0], keypath[1:]
    if head == "*":
        return isinstance(data, dict) and any(_written(v, rest) for v in data.values())
    if head == 0:
        return isinstance(data, list) and any(_written(v, rest) for v in data)
    return isinstance(data, dict) and head in data and _written(data[head], rest)


def test_example_config_shows_every_key_the_schema_knows():
    text = _switched_on((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    config = parse_config(text, "config.example.toml")  # the commented-out settings are valid too
    assert config.sources.demo is not None and config.sources.github.app_id == 12345
    data = tomllib.loads(text)
    paths = list(key_paths(config_schema().shape))
    assert len(paths) > 100
    missing = [dotted(p) for p in paths if not _written(data, p)]
    assert missing == [], "not in config.example.toml"


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


def test_a_config_nested_100000_deep_is_exit_2_in_one_line(tmp_path, cli):
    path = tmp_path / "deep.toml"
    path.write_text("[store]\nurl = " + "[" * 100_000 + "\n")
    result = cli("-c", str(path), "snapshots")
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        f"foureyes: error: {path}: TOML nested too deeply to read: arrays or inline tables hundreds of levels "
        "inside each other (is this the right file?)"
    ]
    assert result.stdout == ""
