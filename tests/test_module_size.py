"""Issue 15: no module in foureyes/ grows past 800 lines (the AWS policy evaluator, once excepted, is
split too: policy_context, policy_documents, policy_matching, policy_conditions, policy).
A module that long does too much to read in one sitting; split it by what it does."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "foureyes"
LIMIT = 800
EXCEPTED: set[str] = set()


def test_no_module_is_over_800_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py")
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert set(long) <= EXCEPTED, f"modules over {LIMIT} lines: {long}"
