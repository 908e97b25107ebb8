"""The output samples in README.md and docs/ are what foureyes prints (tools/docs_samples.py
writes them from the demo at a fixed time and width): a sample cannot drift from the code."""

from __future__ import annotations

import difflib
import re
import sys

import pytest

from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import docs_samples  # noqa: E402

# What a block that is not a sample may be: commands to type, and files a user writes.
NOT_OUTPUT = {"sh", "toml", "yaml", "csv", "python", "plaintext"}
COMMANDS = re.compile(r"^(foureyes|make|pip|createdb|export|chromium|gh|python3?)\b")


@pytest.fixture(scope="module")
def results():
    return docs_samples.regenerate_all()


def test_every_sample_is_what_foureyes_prints(results):
    problems = [p for r in results for p in r.problems]
    assert not problems, "\n".join(problems)
    differ = [r for r in results if r.actual != r.expected]
    diff = "".join(line for r in differ for line in difflib.unified_diff(
        r.expected.splitlines(True), r.actual.splitlines(True), f"{r.path.name} (written)", f"{r.path.name} (printed)"))
    assert not differ, ("samples differ from the output; `python tools/docs_samples.py` rewrites them:\n" + diff)
    assert sum(r.samples for r in results) >= 20  # README, cli.md, review.md, rules.md, roster.md


def test_every_block_that_shows_output_is_a_sample():
    """Output is never pasted by hand: a block is a sample, a file a sample writes, or commands
    and inputs (a config, a policy) that show no output. A JSON block outside docs/sources/ (where
    they are IAM and GCP documents a user writes) is output."""
    found = []
    for path in docs_samples.markdown_files():
        lines = path.read_text(encoding="utf-8").split("\n")
        where = path.relative_to(ROOT)
        for block in docs_samples.blocks(lines):
            if block.options is not None or block.file:
                continue
            at = f"{where}:{block.start + 1}"
            if block.lang == "json" and where.parts[:2] == ("docs", "sources"):
                continue
            if block.lang not in NOT_OUTPUT:
                found.append(f"{at}: a ```{block.lang or '(no language)'} block that is not a sample")
            elif any(line.startswith("$ ") for line in block.lines):
                found.append(f"{at}: a command with a prompt outside a sample")
            elif block.lang == "sh":
                continued = [False] + [line.rstrip().endswith("\\") for line in block.lines[:-1]]
                pasted = [line for line, goes_on in zip(block.lines, continued) if line.strip() and not goes_on
                          and not line.startswith("#") and not COMMANDS.match(line)]
                if pasted:
                    found.append(f"{at}: output in a list of commands: {pasted[0]!r}")
    assert not found, "\n".join(found)
