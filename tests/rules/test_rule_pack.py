"""The default rule pack: every rule has fixtures that fire and stay quiet; the loader is strict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from foureyes.errors import InputError
from foureyes.rules import load_pack, load_rule_file
from foureyes.rules.fixtures import default_fixture_files, run_fixture_file
from foureyes.rules.pack import RULE_FILE
from foureyes.rules.waivers import EXCEPTION_FILE
from foureyes.schema import key_paths

DOCS = Path(__file__).resolve().parents[2] / "docs" / "rules.md"

PACK = load_pack()
FIXTURES = {p.stem: p for p in default_fixture_files()}


def test_every_rule_ships_with_fixtures():
    assert set(FIXTURES) == {r.id for r in PACK}


@pytest.mark.parametrize("rule_id", sorted(FIXTURES))
def test_rule_fixtures(rule_id):
    results = list(run_fixture_file(FIXTURES[rule_id], PACK))
    assert any(r.ok for r in results)
    failures = [f"{r.case}: {r.message}" for r in results if not r.ok]
    assert failures == []


def test_every_rule_has_rationale_controls_and_remediation():
    for rule in PACK:
        assert rule.rationale and rule.remediation and rule.controls, rule.id
        assert any(c.startswith("SOC 2") for c in rule.controls), rule.id


def test_a_fixture_that_should_fail_does_fail(tmp_path):
    # the runner itself must be able to report a failure
    broken = tmp_path / "FE-SOD-001.toml"
    broken.write_text(FIXTURES["FE-SOD-001"].read_text().replace('expect = "quiet"', 'expect = "fire"', 1))
    assert not all(r.ok for r in run_fixture_file(broken, PACK))


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "custom.toml"
    path.write_text(body)
    return path


BASE = '''[[rule]]
id = "ACME-001"
title = "t"
severity = "high"
kind = "conflict"
rationale = "r"
controls = ["SOC 2 CC8.1"]
remediation = "x"
all_of = ["code.push"]
'''


def test_unknown_field_names_the_file_line_and_rule(tmp_path):
    path = _write(tmp_path, BASE + 'severty = "low"\n')
    with pytest.raises(InputError) as err:
        load_rule_file(path)
    assert str(err.value) == f"{path}:10: rule ACME-001: unknown field 'severty' (did you mean 'severity'?)"


@pytest.mark.parametrize("change, message", [
    (('severity = "high"', 'severity = "urgent"'), "severity must be one of"),
    (('all_of = ["code.push"]', 'all_of = ["code.pish"]'), "unknown capability 'code.pish'"),
    (('kind = "conflict"', 'kind = "vibe"'), "kind must be"),
    (('controls = ["SOC 2 CC8.1"]', 'controls = "SOC 2"'), "field 'controls' must be a list"),
    (('id = "ACME-001"', 'id = "acme rule"'), "id must look like"),
])
def test_invalid_rules_are_refused_with_the_rule_id(tmp_path, change, message):
    path = _write(tmp_path, BASE.replace(*change))
    with pytest.raises(InputError) as err:
        load_rule_file(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_custom_rules_load_beside_the_default_pack(tmp_path):
    path = _write(tmp_path, BASE)
    pack = load_pack([path], disable=["FE-SOD-002"])
    ids = {r.id for r in pack}
    assert "ACME-001" in ids and "FE-SOD-002" not in ids and "FE-SOD-001" in ids
    with pytest.raises(InputError, match="already defined"):
        load_pack([path, tmp_path])


def test_rules_test_command(cli):
    result = cli("rules", "test")
    assert result.returncode == 0, result.stderr
    assert "0 failures" in result.stderr


def test_docs_describe_every_field_of_a_rule_and_of_an_exception():
    text = DOCS.read_text(encoding="utf-8")
    braces = " ".join(re.findall(r"\{[^}]*\}", text))  # `{ capability, tier, systems, where }`, `match = { kind … }`
    for path in key_paths(RULE_FILE.shape):
        if len(path) == 3:  # ("rule", 0, "severity")
            assert f"`{path[2]}`" in text, path
        elif len(path) > 3 and isinstance(path[-1], str):  # ("rule", 0, "all_of", 0, "tier")
            assert re.search(rf"\b{path[-1]}\b", braces), path
    for path in key_paths(EXCEPTION_FILE.shape):
        if isinstance(path[-1], str) and len(path) == 3:
            assert re.search(rf"^{path[-1]} = ", text, re.MULTILINE), path
