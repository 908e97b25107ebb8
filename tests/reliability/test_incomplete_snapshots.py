"""A snapshot whose source failed never reads as "nobody has access".

Found: after a failed `snapshot`, `conflicts` printed "0 findings, 0 open" and `who-can
deploy.run` "0 people", both exit 0; a mistyped `--tier prod` answered "0 people". Now every
data command says first, in one line, which source failed, and exits 3 unless --allow-gaps;
gaps alone are counted in one line (exit 3 with --strict); JSON carries `complete`,
`failed_sources` and `gaps`; the TUI keeps a banner up; unknown names are exit 2 with the
known ones.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from .conftest import copy_store

INCOMPLETE = "foureyes: INCOMPLETE: "
DATA_COMMANDS = {
    "conflicts": ["conflicts"],
    "who-can": ["who-can", "deploy.run"],
    "matrix": ["matrix"],
    "drift": ["drift"],
    "identities": ["identities"],
    "changes": ["changes"],
    "export tickets": ["export", "tickets", "--format", "json"],
    "report": ["report", "--format", "markdown"],
}


@pytest.fixture
def failed(failed_world, tmp_path, cli):
    url = copy_store(failed_world["store"], tmp_path)

    def foureyes(*args: str, config: str = "config"):
        return cli("-c", str(failed_world[config]), *args, env={"FOUREYES_STORE_URL": url})

    return foureyes


@pytest.mark.parametrize("command", list(DATA_COMMANDS))
def test_a_failed_source_is_said_first_and_exits_3_unless_allowed(failed, command):
    args = DATA_COMMANDS[command]
    result = failed(*args)
    assert result.returncode == 3, (command, result.stderr)
    first = result.stderr.splitlines()[0]
    assert first.startswith(INCOMPLETE) and "source github failed" in first, (command, first)
    assert "cannot reach 127.0.0.1:" in first and "(connection refused)" in first  # the cause, in the same line
    assert result.stderr.count(INCOMPLETE) == 1
    allowed = failed(*args, "--allow-gaps")
    assert allowed.returncode == 0, (command, allowed.stderr)
    assert allowed.stderr.splitlines()[0].startswith(INCOMPLETE)  # allowed, still said
    same = [line for line in allowed.stdout.splitlines() if not line.startswith("Generated ")]
    assert same == [line for line in result.stdout.splitlines() if not line.startswith("Generated ")]


def test_the_report_says_so_at_its_top(failed):
    markdown = failed("report", "--format", "markdown", "--allow-gaps").stdout
    head = markdown.split("## Scope")[0]
    assert "**INCOMPLETE:** in snapshot 2, source `github` failed: the items of this campaign lack everything it " \
           "would have read" in head
    html = failed("report", "--allow-gaps").stdout
    assert '<p class="bad">INCOMPLETE: in snapshot 2, source <span class="lit">github</span> failed' in html


def test_who_can_and_conflicts_no_longer_give_a_clean_bill(failed):
    people = failed("who-can", "deploy.run", "--format", "json")
    data = json.loads(people.stdout)
    assert people.returncode == 3
    assert data["complete"] is False and data["failed_sources"] == ["github"]
    assert any(g["reason"].startswith("source failed: ") and g["system"] == "github" for g in data["gaps"])
    table = failed("conflicts")
    assert table.returncode == 3 and "(incomplete: a source failed)" in table.stderr


@pytest.mark.parametrize("args", [["conflicts"], ["who-can", "code.push"], ["matrix"], ["drift"], ["identities"],
                                  ["identities", "--suggest"], ["check"], ["export", "tickets"]])
def test_json_carries_complete_failed_sources_and_gaps(failed, args):
    result = failed(*args, "--format", "json")
    assert result.returncode in (1, 3), result.stderr
    data = json.loads(result.stdout)
    assert data["complete"] is False, args
    if args == ["drift"]:  # both snapshots: each failure and gap says which one it is in
        assert data["failed_sources"] == [{"snapshot": 2, "source": "github"}]
        assert {g["snapshot"] for g in data["gaps"]} == {1, 2}
    else:
        assert data["failed_sources"] == ["github"]
        assert data["gaps"] and {"system", "resource", "reason", "hides"} <= set(data["gaps"][0])


def test_gaps_alone_are_one_counting_line_and_exit_3_only_when_strict(failed):
    for args in (["conflicts"], ["who-can", "deploy.run"]):
        result = failed(*args, "--snapshot", "1")
        assert result.returncode == 0, (args, result.stderr)
        first = result.stderr.splitlines()[0]
        assert first == ("foureyes: snapshot 1 has 1 gap: parts a source could not read, unknown rather "
                         "than no access (`foureyes check` lists them)"), first
        assert failed(*args, "--snapshot", "1", "--strict").returncode == 3
    data = json.loads(failed("conflicts", "--snapshot", "1", "--format", "json").stdout)
    assert data["complete"] is False and data["failed_sources"] == [] and len(data["gaps"]) == 1


def test_check_names_the_failed_source_once_and_lists_the_other_gaps(failed):
    result = failed("check", "--fail-on", "critical", "--snapshot", "2")
    lines = result.stderr.splitlines()
    assert lines[0].startswith(INCOMPLETE)
    assert sum("cannot reach 127.0.0.1" in line for line in lines) == 1  # not again as a gap line
    assert ("foureyes: gap: [github] github:repo:acme/legacy: 403 on GET /repos/acme/legacy/rulesets "
            "(may hide: ruleset bypass actors)") in lines


def test_the_snapshot_that_failed_said_each_failure_once(failed_world):
    stderr = failed_world["snapshot_stderr"]
    # found: the failure came twice, as a progress warning and as a gap line, in urllib3's words cut mid-string
    assert stderr.count("cannot reach 127.0.0.1:") == 1, stderr
    assert "HTTPConnectionPool" not in stderr and "NewConnectionError" not in stderr
    line = next(x for x in stderr.splitlines() if "github failed" in x)
    assert line.startswith("foureyes: source github failed: cannot read the GitHub organisation 'acme': ")
    assert line.endswith("(connection refused)")


@pytest.mark.parametrize("args, known", [
    (["who-can", "deploy.run", "--tier", "prod"], "unknown tier 'prod'; known tiers: production, unclassified"),
    (["matrix", "--tier", "prod"], "unknown tier 'prod'; known tiers: production, unclassified"),
    (["conflicts", "--rule", "FE-SOD-999"], "unknown rule 'FE-SOD-999'; rules in effect: FE-ACT-001, FE-ACT-002, FE-ACT-003, FE-ACT-004, FE-EMG-001"),
    (["campaign", "new", "--system", "gitlab", "--as", "ciso@acme.com"], "known systems: github, aws, gcp, ci"),
    (["who-can", "deploy.runn"], "'deploy.runn' is not one of 'code.push'"),
])
def test_an_unknown_name_is_exit_2_with_the_known_ones(failed, args, known):
    result = failed(*args, config="demo_only")
    assert result.returncode == 2, result.stderr
    assert known in result.stderr, result.stderr
    assert "0 people" not in result.stderr


def test_the_tui_keeps_a_banner_up_while_the_snapshot_lacks_a_source(failed_world, tmp_path):
    from foureyes.config import load_config
    from foureyes.tui import make_app

    url = copy_store(failed_world["store"], tmp_path)

    async def scenario() -> None:
        app = make_app(store_url=url, config=load_config(str(failed_world["config"])))
        async with app.run_test(size=(140, 40)) as pilot:
            await _settle(app, pilot)

            def banner() -> str:
                widget = app.screen.query_one("#incomplete")
                return str(widget.render()) if widget.display else ""

            assert banner().startswith("INCOMPLETE: snapshot 2 lacks what github would have read")
            assert "cannot reach 127.0.0.1:" in banner()
            await pilot.press("2")  # another section keeps it (each screen composes it under the bar)
            await _settle(app, pilot)
            assert banner().startswith("INCOMPLETE: snapshot 2")
            app.open_snapshot(1)  # the snapshot without a failed source: no banner
            await _settle(app, pilot)
            assert app.triage.snapshot_id == 1 and banner() == ""

    asyncio.run(scenario())


async def _settle(app, pilot) -> None:
    for _ in range(4):
        await pilot.pause()
        await app.workers.wait_for_complete()
    await pilot.pause()


def test_a_campaign_frozen_from_a_failed_snapshot_says_what_it_lacks(failed):
    created = failed("campaign", "new", "--name", "second", "--as", "ciso@acme.com")
    assert created.returncode == 0, created.stderr  # created: the review may go on, knowingly
    assert created.stderr.splitlines()[0].startswith(INCOMPLETE + "snapshot 2: source github failed")
