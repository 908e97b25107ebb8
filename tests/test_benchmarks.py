"""`make bench-small` as a smoke test: the benchmark scripts run end to end (no timings asserted)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_small_runs_and_writes_its_table(tmp_path):
    readme = tmp_path / "README.md"
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--scale", "0.01",
                             "--readme", str(readme)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    text = readme.read_text()
    assert "Machine: " in text and "cores" in text
    for name in ("store: write snapshot", "store: load snapshot", "analysis when it must be computed",
                 "analysis: peak RSS", "`foureyes conflicts`, snapshot taken", "`foureyes who-can deploy.run",
                 "`foureyes matrix --tier production`", "`foureyes campaign new --scope production`",
                 "drift: grants between two full snapshots", "tui: launch to a filled Conflicts table",
                 "tui: people: cursor down", "tui: review: filter, each key typed", "tui: help opens",
                 "github: requests vs lower bound", "github: most requests in flight",
                 "github: rate-limit points per 100 repositories", "aws: requests vs lower bound",
                 "aws: policy evaluations per second"):
        assert name in text
    assert "| failed |" not in text
    # the activity benchmark really read a quarter of history (it once read nothing, in minutes of
    # retries, when the fake's GraphQL signature changed under its request counter)
    read = re.search(r"\| github activity: 90 days on every repository \| \d+ repos, (\d+) changes, (\d+) deployments", text)
    assert read and int(read.group(1)) > 0 and int(read.group(2)) > 0, text


def test_generator_is_deterministic_and_seeds_conflicts():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import generate

    from foureyes.analysis import analyze
    from foureyes.config import parse_config
    from foureyes.model import Snapshot, snapshot_digest

    first, manifest = generate(0.01)
    second, _ = generate(0.01)
    assert snapshot_digest(first) == snapshot_digest(second)
    analysis = analyze(Snapshot(1, "t", "", tuple(first)), parse_config(""), waivers=[])
    found = {(f.rule.id, f.person, f.scope) for f in analysis.findings}
    for subject in manifest.seeded["FE-SOD-001|FE-SOD-003"]:
        person, scope = subject.split("|")
        assert ("FE-SOD-001", person, scope) in found or ("FE-SOD-003", person, scope) in found, subject
    posture = {(f.rule.id, f.subject) for f in analysis.findings}
    for rule in ("FE-POS-001", "FE-POS-002", "FE-POS-004"):
        for subject in manifest.seeded.get(rule, []):
            assert (rule, subject) in posture
