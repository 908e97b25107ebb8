"""One validator for every TOML file foureyes reads: config, rule packs, exceptions, the AWS
and GCP catalogues and the keymap each name the file, the line, the key and a near miss, and
a file tomllib cannot read (too deeply nested, a monstrous dotted key) is one error, exit 2."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from foureyes.config import load_config_file
from foureyes.connectors.aws import capabilities as aws_capabilities
from foureyes.connectors.gcp import iam as gcp_iam
from foureyes.errors import EXIT_USAGE, LocatedError
from foureyes.rules import load_rule_file, load_waivers
from foureyes.tomlfile import MAX_KEY_PARTS, key_lines
from foureyes.tui.keymap import load_keymap

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent

LOADERS = {
    "config": load_config_file,
    "rules": load_rule_file,
    "exceptions": lambda path: load_waivers([path], known_rules=["FE-SOD-001"]),
    "keymap": load_keymap,
    "aws catalogue": lambda path: aws_capabilities.load_catalogue(str(path)),
    "gcp catalogue": lambda path: gcp_iam.parse_catalogue(path.read_text(encoding="utf-8"), str(path)),
}

RULE = '''[[rule]]
id = "ACME-001"
title = "t"
severity = "high"
kind = "conflict"
rationale = "r"
controls = ["SOC 2 CC8.1"]
remediation = "x"
'''
WAY = '''format = "foureyes-aws-catalogue/1"

[[deploy]]
id = "ecs"
'''

# each kind of file, a mistake in it, and the whole message (``{path}`` is the file)
MISTAKES = {
    "config": (
        '[sources.aws]\nregion = "eu-west-1"\nretry_mode = "adaptiv"\n',
        "{path}:3: sources.aws.retry_mode: expected one of 'standard', 'adaptive', 'legacy', got 'adaptiv' "
        "(did you mean 'adaptive'?)"),
    "rules": (
        RULE + 'all_of = [\n  "code.push",\n  { capability = "deploy.rum", tier = "production" },\n]\n',
        "{path}:11: rule ACME-001: all_of[1].capability: unknown capability 'deploy.rum' (did you mean "
        "'deploy.run'?); expected one of 'code.push', 'code.merge_unreviewed', 'code.approve', 'deploy.run', "
        "'deploy.approve', 'access.admin', '*'"),
    "exceptions": (
        '[[exception]]\nrule = "FE-SOD-001"\nperson = "a@x.com"\nreason = "r"\nexpires = 2099-01-01\n'
        'approver = "b@x.com"\n\n[[exception]]\nrule = "FE-SOD-001"\nreason = "r"\nexpires = 2099-01-01\n'
        'aprover = "c@x.com"\n',
        "{path}:12: exception #2: unknown field 'aprover' (did you mean 'approver'?)"),
    "keymap": (
        '[keys]\n"app.search" = "ctrl+k"\n"conflicts.filtre" = "ctrl+f"\n',
        "{path}:3: keys.\"conflicts.filtre\": not a binding id (did you mean 'conflicts.filter'?); "
        "the help (F1) shows each key's binding id"),
    "aws catalogue": (
        WAY + 'all_of = [\n  { action = "ecs:UpdateService", resource = "*" },\n'
        '  { action = "iam:PassRole", resource = "arn:{partition}:iam::{acount}:role/*" },\n]\n',
        "{path}:7: deploy[0].all_of[1].resource: unknown template {{acount}} (did you mean {{account}}?); "
        "known: partition, account, self, own_group, attached_policy, admin_role, admin_user, admin_group, "
        "deploy_bucket"),
    "gcp catalogue": (
        '[[deploy]]\nplatform = "Run"\npermissions = ["run.services.update"]\n\n'
        '[admin.set_iam_policy]\nprojet = "resourcemanager.projects.setIamPolicy"\n',
        "{path}:6: admin.set_iam_policy.projet: not a resource kind (did you mean 'project'?); "
        "expected one of: org, folder, project"),
}


@pytest.mark.parametrize("kind", sorted(MISTAKES))
def test_every_file_names_its_line_key_and_near_miss(kind, tmp_path):
    text, message = MISTAKES[kind]
    path = tmp_path / f"{kind.replace(' ', '-')}.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LocatedError) as caught:
        LOADERS[kind](path)
    assert str(caught.value) == message.format(path=path)
    assert caught.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("kind", sorted(LOADERS))
def test_100000_nested_brackets_are_one_error_in_every_file(kind, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("x = " + "[" * 100_000, encoding="utf-8")
    with pytest.raises(LocatedError) as caught:  # tomllib itself raises RecursionError
        LOADERS[kind](path)
    assert str(caught.value).startswith(f"{path}: TOML nested too deeply to read")
    assert caught.value.exit_code == EXIT_USAGE


def test_a_dotted_key_of_100000_parts_is_refused_before_tomllib_spends_gigabytes(tmp_path):
    # tomllib keeps every prefix of a dotted key: 100,000 parts would take ~40 GB
    path = tmp_path / "dotted.toml"
    path.write_text('[store]\nurl = ""\n' + "a" + ".a" * 100_000 + " = 1\n", encoding="utf-8")
    with pytest.raises(LocatedError) as caught:
        load_config_file(path)
    assert str(caught.value) == (f"{path}:3: a dotted key with more than {MAX_KEY_PARTS} parts; foureyes reads at "
                                 f"most {MAX_KEY_PARTS} (is this the right file?)")
    # a long key that is fine, and dots inside strings, are not counted
    path.write_text("a" + ".a" * (MAX_KEY_PARTS - 1) + " = 1\n" + 'b = "' + "x." * 500 + '"\n', encoding="utf-8")
    with pytest.raises(LocatedError, match=r":1: a: unknown key; expected one of: activity, apps, break_glass, campaigns"):
        load_config_file(path)


def test_syntax_errors_name_the_line_and_column(tmp_path):
    path = tmp_path / "rules.toml"
    path.write_text(RULE + 'all_of = ["code.push"\n', encoding="utf-8")
    with pytest.raises(LocatedError) as caught:
        load_rule_file(path)
    assert str(caught.value) == f"{path}:9: TOML syntax error: Unclosed array (at the end of the file)"
    path.write_text(RULE.replace('kind = "conflict"', 'kind = conflict'), encoding="utf-8")
    with pytest.raises(LocatedError) as caught:
        load_rule_file(path)
    assert str(caught.value) == f"{path}:5: TOML syntax error: Invalid value (column 8)"


TRICKY = '''# [not.a.table]
title = """
[fake]
key = "not a key"
"""
literal = \'\'\'[also fake] = 1\'\'\'
"quoted.key" . inner = { a = 1, b = [ { c = 2 },
  { d = 3 } ] }
list = [
  "x", # a comment with ] and }
  "y\\"]",
]
[[arr]]
name = "one"
[arr.sub]
v = 1
[[arr]]
name = "two"
[[arr.items]]
w = 1

[[arr.items]]
w = 2
'''


def test_key_lines_follow_strings_comments_inline_tables_and_arrays_of_tables():
    lines = key_lines(TRICKY)
    assert {path: lines.get(path) for path in [
        ("title",), ("key",), ("fake",), ("literal",), ("quoted.key", "inner", "a"), ("quoted.key", "inner", "b", 0, "c"),
        ("quoted.key", "inner", "b", 1, "d"), ("list", 1), ("arr", 0, "name"), ("arr", 0, "sub", "v"), ("arr", 1),
        ("arr", 1, "name"), ("arr", 1, "items", 0, "w"), ("arr", 1, "items", 1), ("arr", 1, "items", 1, "w"),
    ]} == {
        ("title",): 2, ("key",): None, ("fake",): None, ("literal",): 6, ("quoted.key", "inner", "a"): 7,
        ("quoted.key", "inner", "b", 0, "c"): 7, ("quoted.key", "inner", "b", 1, "d"): 8, ("list", 1): 11,
        ("arr", 0, "name"): 14, ("arr", 0, "sub", "v"): 16, ("arr", 1): 17, ("arr", 1, "name"): 18,
        ("arr", 1, "items", 0, "w"): 20, ("arr", 1, "items", 1): 22, ("arr", 1, "items", 1, "w"): 23,
    }
    assert tomllib.loads(TRICKY)["list"] == ["x", 'y"]']  # the text really is what the test says


def _paths(value, at=()):
    if isinstance(value, dict):
        for key, item in value.items():
            yield at + (key,)
            yield from _paths(item, at + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield at + (index,)
            yield from _paths(item, at + (index,))


SHIPPED = sorted([ROOT / "config.example.toml", *(ROOT / "foureyes").rglob("*.toml")])


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_key_of_every_shipped_file_has_its_line(path):
    text = path.read_text(encoding="utf-8")
    lines, source = key_lines(text), text.splitlines()
    for keypath in _paths(tomllib.loads(text)):
        assert keypath in lines, keypath
        if isinstance(keypath[-1], str):
            assert keypath[-1] in source[lines[keypath] - 1], (keypath, lines[keypath])
