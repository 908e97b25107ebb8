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
    """This process's own peak RSS (MiB): `VmHWM`, which starts again at exec. Not `ru_maxrss`: Linux
    carries it across fork and exec, so a child run from this benchmark's parent (which holds the
    generated enterprise and writes it) reported the parent's peak where that was the higher."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(kind: str, *args: str) -> dict[str, Any]:
    """Run one measurement in a fresh process and return its JSON."""
    out = subprocess.run([sys.executable, str(Path(__file__)), "--child", kind, *args], capture_output=True,
                         text=True)
    if out.returncode != 0:
        raise SystemExit(f"benchmark child {kind} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# The config every measurement uses (the analysis stored beside a snapshot is keyed by it).
BENCH_CONFIG = """
[identity]
email_domains = ["bigco.example"]

[campaigns]
fallback_reviewer = "ciso@bigco.example"
"""
REVIEWER = "ciso@bigco.example"

# ---------------------------------------------------------------- children


def _workspace(store_url: str, config_path: str) -> Any:
    from foureyes.config import load_config_file
    from foureyes.workspace import Workspace

    return Workspace.open(load_config_file(config_path), url=store_url)


def child_load(store_url: str, snapshot_id: str) -> dict[str, Any]:
    from foureyes.store import Store

    with Store(store_url) as store:
        started = time.perf_counter()
        snapshot = store.load_snapshot(int(snapshot_id))
        seconds = time.perf_counter() - started
    return {"load_s": seconds, "grants": sum(len(s.grants) for s in snapshot.sources), "peak_rss_mb": peak_rss_mb()}


def child_prepare(store_url: str, config_path: str, snapshot_id: str) -> dict[str, Any]:
    """What taking a snapshot does after writing it (`Workspace.prepare_snapshot`): analyse it and
    store the analysis beside it, and keep the content digest campaigns commit to. The phases
    are timed from the analysis's own progress messages."""
    marks: list[tuple[str, float]] = []
    with _workspace(store_url, config_path) as workspace:
        workspace.forget_analyses(int(snapshot_id))
        started = time.perf_counter()
        analysis = workspace.analysis(int(snapshot_id), progress=lambda text: marks.append((text, time.perf_counter())))
        analysed = time.perf_counter()
        workspace._store.remember_snapshot_digest(int(snapshot_id))
        digested = time.perf_counter()
        summary = dict(analysis.row.summary)
    phase = {text.split()[0]: at for text, at in marks}  # Loading, Analysing, Storing
    return {"total_s": analysed - started, "load_s": phase["Analysing"] - phase["Loading"],
            "compute_s": phase["Storing"] - phase["Analysing"], "store_s": analysed - phase["Storing"],
            "digest_s": digested - analysed, "peak_rss_mb": peak_rss_mb(), **summary}


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


def child_stored_drift(store_url: str, config_path: str, old_id: str, new_id: str) -> dict[str, Any]:
    """`foureyes drift` between two snapshots whose analyses are stored."""
    with _workspace(store_url, config_path) as workspace:
        started = time.perf_counter()
        result = workspace.drift(int(old_id), int(new_id))
        seconds = time.perf_counter() - started
    drift = result.drift
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb(),
            "capabilities_changed": len(drift.capabilities_added) + len(drift.capabilities_removed)}


CHILDREN: dict[str, Callable[..., dict[str, Any]]] = {
    "load": child_load, "prepare": child_prepare, "drift": child_drift, "stored_drift": child_stored_drift}


def command(store_url: str, config_path: Path, *args: str) -> tuple[float, str]:
    """`foureyes ARGS` in a fresh process, its output thrown away as a pipe would take it: wall time
    from start to exit (interpreter start and imports included), and the last line of stderr."""
    env = dict(os.environ, FOUREYES_STORE_URL=store_url)
    started = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "foureyes", "-c", str(config_path), *args], env=env,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    if out.returncode not in (0, 1, 3):
        raise SystemExit(f"foureyes {' '.join(args)} failed ({out.returncode}):\n{out.stderr}")
    lines = out.stderr.strip().splitlines()
    return seconds, lines[-1] if lines else ""


# ---------------------------------------------------------------- parent


def fmt_s(seconds: float) -> str:
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def load_average() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "?"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def run(scale: float, workdir: Path, *, skip: set[str]) -> list[Row]:
    from generate import generate

    from foureyes.store import Store

    rows: list[Row] = []
    config_path = workdir / "foureyes.toml"
    config_path.write_text(BENCH_CONFIG, encoding="utf-8")
    started = time.perf_counter()
    results, manifest = generate(scale)
    variant, _ = generate(scale, variant=1)
    rows.append(Row("synthetic enterprise", ", ".join(f"{v:,} {k}" for k, v in manifest.counts.items()),
                    note=f"generated in {fmt_s(time.perf_counter() - started)}; load average before the run "
                         f"{load_average()} (1/5/15 min)"))
    url = f"sqlite:///{workdir / 'bench.db'}"
    with Store(url) as store:
        started = time.perf_counter()
        first = store.write_snapshot(results, label="bench")
        write_s = time.perf_counter() - started
        second = store.write_snapshot(variant, label="bench variant")
    del results, variant
    rows.append(Row("store: write snapshot (SQLite)", fmt_s(write_s), "≤ 10 s", write_s <= 10))
    loaded = child("load", url, str(second.id))
    rows.append(Row("store: load snapshot", fmt_s(loaded["load_s"]), "≤ 5 s", loaded["load_s"] <= 5,
                    f"{loaded['grants']:,} grants, in a fresh process"))
    # what `foureyes snapshot` does after writing each snapshot (the older one first, as it was taken)
    child("prepare", url, str(config_path), str(first.id))
    prepared = child("prepare", url, str(config_path), str(second.id))
    rows.append(Row("analysis when it must be computed (and stored)", fmt_s(prepared["total_s"]), "≤ 10 s",
                    prepared["total_s"] <= 10,
                    f"load {fmt_s(prepared['load_s'])} + analyse {fmt_s(prepared['compute_s'])} + store "
                    f"{fmt_s(prepared['store_s'])}; {prepared['people']:,} people, {prepared['holdings']:,} "
                    f"capability holdings, {prepared['findings']:,} findings; then the content digest campaigns "
                    f"commit to, {fmt_s(prepared['digest_s'])}"))
    rows.append(Row("analysis: peak RSS (load, analysis, storing it)", f"{prepared['peak_rss_mb']:.0f} MiB",
                    "≤ 1536 MiB", prepared["peak_rss_mb"] <= 1536))
    for name, args in (("conflicts", ("conflicts",)), ("who-can", ("who-can", "deploy.run", "--tier", "production")),
                       ("matrix", ("matrix", "--tier", "production"))):
        seconds, said = command(url, config_path, *args)
        rows.append(Row(f"`foureyes {' '.join(args)}`, snapshot taken", fmt_s(seconds), "≤ 3 s", seconds <= 3,
                        f"fresh process, output to a pipe; {said}"))
    if scale >= 0.1:  # (a small run only shows the scripts work)
        seconds, _ = command(url, config_path, "conflicts", "--format", "json")
        rows.append(Row("`foureyes conflicts --format json` (every path of every finding)", fmt_s(seconds),
                        note="fresh process, output to a pipe"))
    seconds, _ = command(url, config_path, "campaign", "new", "--name", "bench", "--scope", "production")
    with Store(url) as store, store.engine.connect() as conn:
        items = conn.exec_driver_sql("SELECT count(*) FROM campaign_items").scalar()
        campaign_id = conn.exec_driver_sql("SELECT max(id) FROM campaigns").scalar()
    rows.append(Row("`foureyes campaign new --scope production`", fmt_s(seconds), "≤ 15 s", seconds <= 15,
                    f"{items:,} items, fresh process"))
    stored_drift = child("stored_drift", url, str(config_path), str(first.id), str(second.id))
    rows.append(Row("`foureyes drift` between two stored analyses", fmt_s(stored_drift["seconds"]),
                    note=f"{stored_drift['capabilities_changed']:,} capabilities changed; peak RSS "
                         f"{stored_drift['peak_rss_mb']:.0f} MiB"))
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
        # a small run only shows the script works: one sample of each key is enough
        rows.extend(_optional("tui_scale", scale, workdir, "--db", str(workdir / "bench.db"),
                              "--config", str(config_path), "--reviewer", REVIEWER,
                              "--campaign", str(campaign_id), *(("--repeat", "1") if scale < 0.1 else ())))
    if "github" not in skip:
        rows.extend(_optional("github_scale", scale, workdir))
        rows.extend(_optional("github_scale", scale, workdir, "--activity"))
    if "aws" not in skip:
        rows.extend(_optional("aws_scale", scale, workdir))
    rows.append(Row("load average after the run", load_average(), note="1/5/15 min; 2 is a busy 2-core machine"))
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


def byte_code() -> None:
    """Compile foureyes's modules once, as installing it does, and the modules of its dependencies
    that its commands and its TUI import (an installer compiles those too). An editable install has
    no byte code, and where PYTHONDONTWRITEBYTECODE is set (this machine's environment sets it) every
    process the benchmark starts would compile what it imports from source again: about 1.2 s a
    command for foureyes, and 0.8-1.0 s more of CPU for SQLAlchemy, Rich and Click (measured on
    who-can at full size), that a user's installation never pays. Python reads byte code whatever
    that variable says."""
    import compileall
    import sysconfig

    compileall.compile_dir(str(ROOT / "foureyes"), quiet=1)
    listed = subprocess.run([sys.executable, "-c", "import sys, foureyes.cli, foureyes.tui.app\n"
                             "print('\\n'.join(getattr(m, '__file__', None) or '' for m in list(sys.modules.values())))"],
                            capture_output=True, text=True, cwd=ROOT, check=True).stdout.split("\n")
    installed = tuple({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})
    for path in listed:
        if path.endswith(".py") and path.startswith(installed):
            compileall.compile_file(path, quiet=1)


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
    byte_code()
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
