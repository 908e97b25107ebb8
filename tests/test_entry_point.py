"""The real entry points in child processes: what only a process shows.

Most CLI tests run the command in the test's own process (`cli`, tests/conftest.py). These run
`python -m foureyes` and the installed `foureyes` script as a user's shell does: the CLI
contract's exit codes 0, 1, 2 and 3 through the real `sys.exit`. (Killed processes:
tests/reliability/test_kill_snapshot.py, tests/review/test_concurrency.py, tests/tui/.)
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("foureyes")  # the console script pip installed beside python


def test_exit_0_version_through_the_console_script(cli_process):
    from foureyes import __version__

    assert cli_process("version").stdout.strip() == f"foureyes {__version__}"
    done = subprocess.run([str(SCRIPT), "version", "--format", "json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["version"] == __version__


def test_exit_1_when_check_finds_conflicts(cli_process, demo_store, demo_config_file):
    result = cli_process("-c", str(demo_config_file), "check", "--format", "json")
    assert result.returncode == 1, result.stderr
    assert len(json.loads(result.stdout)["failing"]) == 44  # 33 possible, 4 of the roster, 7 proven in the quarter


def test_exit_2_for_a_bad_config_in_one_line(cli_process, tmp_path):
    path = tmp_path / "foureyes.toml"
    path.write_text('[tiers.production]\ngithub_repos = "acme/api"\n')
    result = cli_process("-c", str(path), "snapshots")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("foureyes: error: ") and str(path) in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_exit_3_for_a_snapshot_with_a_gap(cli_process, tmp_path):
    config = tmp_path / "c.toml"
    config.write_text('[sources.demo]\nstage = "before"\n')
    result = cli_process("-c", str(config), "snapshot", "--format", "json")
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["gaps"] == 1
    assert "gap: [github] github:repo:acme/legacy-billing" in result.stderr

