"""foureyes at enterprise scale: store, analysis, drift, TUI and GitHub snapshot benchmarks.

`make bench` runs the full default size (20,000 people, ~1M grants); `make bench-small`
runs 1/50th of it. Each measurement that needs its own peak memory runs in a child
process. The table is printed and appended to benchmarks/README.md with the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
HERE = Path(__file__).resolve().parent
for path in (str(ROOT), str(HERE)):
    if path not in sys.path:
        sys.path.insert(0, path)


@dataclass
class Row:
    name: str
    measured: str
    target: str = ""
    ok: bool | None = None
    note: str = ""


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process and return its JSON."""
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", kind, *args], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child {kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- children


def child_analysis(store_url: str, snapshot_id: str) -> dict[str, Any]:
    from foureyes.analysis import analyze
    from foureyes.config import parse_config
    from foureyes.store import Store

    with Store(store_url) as store:
        started = time.perf_counter()
        snapshot = store.load_snapshot(int(snapshot_id))
        load_s = time.perf_counter() - started
    started = time.perf_counter()
    analysis = analyze(snapshot, parse_config(""), waivers=[])
    seconds = time.perf_counter() - started
    return {"load_s": load_s, "analysis_s": seconds, "peak_rss_mb": peak_rss_mb(),
            "people": len(analysis.identities.people), "holdings": len(analysis.holdings()),
            "findings": len(analysis.findings)}


def child_drift(store_url: str, old_id: str, new_id: str) -> dict[str, Any]:
    from foureyes.analysis import analyze
    from foureyes.config import parse_config
    from foureyes.drift import compare, grant_changes
    from foureyes.store import Store

    config = parse_config("")
    with Store(store_url) as store:
        started = time.perf_counter()
        added, removed = store.grant_changes(int(old_id), int(new_id))
        sql_s = time.perf_counter() - started
        started = time.perf_counter()
        old, new = store.load_snapshot(int(old_id)), store.load_snapshot(int(new_id))
        loads_s = time.perf_counter() - started
    started = time.perf_counter()
    memory_added, memory_removed = grant_changes(old, new)
    memory_s = time.perf_counter() - started
    assert len(memory_added) == len(added) and len(memory_removed) == len(removed)
    started = time.perf_counter()
    a_old, a_new = analyze(old, config, waivers=[]), analyze(new, config, waivers=[])
    analyses_s = time.perf_counter() - started
    started = time.perf_counter()
    drift = compare(a_old, a_new)
    compare_s = time.perf_counter() - started
    return {"sql_grants_s": sql_s, "memory_grants_s": memory_s, "compare_s": compare_s, "loads_s": loads_s,
            "analyses_s": analyses_s, "grants_added": len(added), "grants_removed": len(removed),
            "capabilities_changed": len(drift.capabilities_added) + len(drift.capabilities_removed),
            "findings_changed": len(drift.findings_added) + len(drift.findings_removed)}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {"analysis": child_analysis, "drift": child_drift}


# ---------------------------------------------------------------- parent


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def run(scale: float, workdir: Path, *, skip: set[str]) -> list[Row]:
    from generate import generate

    from foureyes.store import Store

    rows: list[Row] = []
    started = time.perf_counter()
    results, manifest = generate(scale)
    variant, _ = generate(scale, variant=1)
    rows.append(Row("synthetic enterprise", ", ".join(f"{v:,} {k}" for k, v in manifest.counts.items()),
                    note=f"generated in {fmt_s(time.perf_counter() - started)}"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    with Store(url) as store:
        started = time.perf_counter()
        first = store.write_snapshot(results, label="bench")
        write_s = time.perf_counter() - started
        second = store.write_snapshot(variant, label="bench variant")
    del results, variant
    rows.append(Row("store: write snapshot (SQLite)", fmt_s(write_s), "≤ 20 s", write_s <= 20))
    analysis = child("analysis", url, str(first.id))
    rows.append(Row("store: load snapshot", fmt_s(analysis["load_s"]), "≤ 10 s", analysis["load_s"] <= 10))
    rows.append(Row("analysis: identity + graph + rules", fmt_s(analysis["analysis_s"]), "≤ 30 s",
                    analysis["analysis_s"] <= 30,
                    f"{analysis['people']:,} people, {analysis['holdings']:,} capability holdings, "
                    f"{analysis['findings']:,} findings"))
    rows.append(Row("analysis: peak RSS (load + analysis)", f"{analysis['peak_rss_mb']:.0f} MiB", "≤ 2048 MiB",
                    analysis["peak_rss_mb"] <= 2048))
    drift = child("drift", url, str(first.id), str(second.id))
    rows.append(Row("drift: grants between two full snapshots (SQL)", fmt_s(drift["sql_grants_s"]), "≤ 5 s",
                    drift["sql_grants_s"] <= 5,
                    f"{drift['grants_added']:,} added, {drift['grants_removed']:,} removed"))
    rows.append(Row("drift: capabilities + findings (given both analyses)", fmt_s(drift["compare_s"]), "≤ 5 s",
                    drift["compare_s"] <= 5,
                    f"{drift['capabilities_changed']:,} capabilities, {drift['findings_changed']:,} findings changed; "
                    f"the two analyses themselves took {fmt_s(drift['analyses_s'])}"))
    if scale != 1.0:  # targets are for the full size; smaller runs only exercise the scripts
        for r in rows:
            if r.target:
                r.target, r.ok = f"({r.target} at full size)", None
    if "tui" not in skip:  # the TUI on the enterprise just stored (its latest snapshot, the variant)
        rows.extend(_optional("tui_scale", scale, workdir, "--db", str(workdir / "bench.db")))
    if "github" not in skip:
        rows.extend(_optional("github_scale", scale, workdir))
        rows.extend(_optional("github_scale", scale, workdir, "--activity"))
    if "aws" not in skip:
        rows.extend(_optional("aws_scale", scale, workdir))
    return rows


def _optional(module: str, scale: float, workdir: Path, *extra: str) -> list[Row]:
    """Benchmarks that live in their own scripts (TUI, GitHub, AWS); each returns rows as JSON."""
    script = HERE / f"{module}.py"
    if not script.exists():
        return [Row(module, "not measured", note=f"benchmarks/{module}.py is missing")]
    out = subprocess.run([sys.executable, str(script), "--scale", str(scale), "--json", *extra],
                         capture_output=True, text=True, cwd=workdir)
    if out.returncode != 0:
        return [Row(module, "failed", note=out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "")]
    return [Row(**r) for r in json.loads(out.stdout.strip().splitlines()[-1])]


def machine() -> str:
    mem = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return (f"{os.cpu_count()} cores, {mem} RAM, Python {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}")


def table(rows: list[Row]) -> str:
    lines = ["| benchmark | measured | target | met | notes |", "|---|---|---|---|---|"]
    for r in rows:
        met = "" if r.ok is None else ("yes" if r.ok else "**no**")
        lines.append(f"| {r.name} | {r.measured} | {r.target} | {met} | {r.note} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--readme", type=Path, default=HERE / "README.md",
                        help="where to append the results (default benchmarks/README.md)")
    parser.add_argument("--no-write", action="store_true", help="print only")
    parser.add_argument("--skip", action="append", default=[], choices=["tui", "github", "aws"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        kind, *rest = args.child
        print(json.dumps(CHILDREN[kind](*rest)))
        return 0
    with tempfile.TemporaryDirectory(prefix="foureyes-bench-") as tmp:
        rows = run(args.scale, Path(tmp), skip=set(args.skip))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    report = f"\n## Run of {stamp}, scale {args.scale}\n\nMachine: {machine()}\n\n{table(rows)}\n"
    print(report)
    if not args.no_write:
        with args.readme.open("a", encoding="utf-8") as out:
            out.write(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
