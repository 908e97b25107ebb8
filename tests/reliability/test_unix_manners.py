"""Pipes, terminals and unreachable hosts behave as other command-line tools do.

Found: `foureyes snapshots --format json | true` printed "internal error: BrokenPipeError ...
please report it" (exit 70); `foureyes tui > file` never exited; an unreachable `base_url`
gave urllib3's text cut mid-string, and each source failure was printed twice.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from .conftest import closed_port, copy_store


def test_a_closed_pipe_ends_quietly(failed_world, tmp_path):
    # a real process: only the operating system closes a pipe under a writer
    env = {**os.environ, "FOUREYES_STORE_URL": copy_store(failed_world["store"], tmp_path)}
    env.pop("FOUREYES_DEBUG", None)
    reader, writer = os.pipe()
    os.close(reader)  # `| true`: the reader is gone before foureyes writes
    try:
        done = subprocess.run([sys.executable, "-m", "foureyes", "snapshots", "--format", "json"], stdout=writer,
                              stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    finally:
        os.close(writer)
    assert done.returncode in (0, 141), done.stderr
    assert done.stderr == ""  # no "internal error", no "Exception ignored ... BrokenPipeError"


@pytest.mark.parametrize("command", [["tui"], ["demo"], ["review", "--as", "ciso@acme.com"]])
def test_the_tui_refuses_to_start_without_a_terminal(failed_world, tmp_path, cli, command):
    result = cli("-c", str(failed_world["config"]), *command,
                 env={"FOUREYES_STORE_URL": copy_store(failed_world["store"], tmp_path)})
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"foureyes: error: `foureyes {command[0]}` needs a terminal, and stdout is not one; for output a script "
        "or a file can use, run the data commands (who-can, conflicts, matrix, drift, check, report) with "
        "--format json")


def test_tui_with_stdout_in_a_file_exits_at_once(failed_world, tmp_path):
    # found: nine minutes at 40% CPU, never exiting
    env = {**os.environ, "FOUREYES_STORE_URL": copy_store(failed_world["store"], tmp_path)}
    with (tmp_path / "screen.txt").open("w") as out:
        done = subprocess.run([sys.executable, "-m", "foureyes", "tui"], stdout=out, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, text=True, env=env, timeout=60)
    assert done.returncode == 2 and "needs a terminal" in done.stderr


def test_an_unreachable_host_is_one_readable_line_said_once(tmp_path, cli):
    port = closed_port()
    config = tmp_path / "foureyes.toml"
    config.write_text(f'[sources.github]\norg = "acme"\nbase_url = "http://127.0.0.1:{port}"\nmax_retries = 0\n')
    result = cli("-c", str(config), "snapshot",
                 env={"FOUREYES_STORE_URL": f"sqlite:///{tmp_path / 's.db'}", "GITHUB_TOKEN": "ghp_unused_0000"})
    assert result.returncode == 3
    failure = f"cannot reach 127.0.0.1:{port} (connection refused)"
    assert result.stderr.count(failure) == 1, result.stderr  # once, not again as a gap line
    assert result.stderr.splitlines()[-1] == ("foureyes: source github failed: cannot read the GitHub organisation "
                                              f"'acme': error on GET /orgs/acme: {failure}")
    assert "Pool" not in result.stderr and "Caused by" not in result.stderr
