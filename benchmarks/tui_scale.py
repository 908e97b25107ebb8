"""Times the TUI on a large synthetic snapshot: first paint, cursor move and filter.

Builds its own org (default 10,000 people, 100,000 grants) from foureyes.model objects,
stores it in a temporary SQLite file and drives the real app headless with Pilot; with
``--db`` naming an existing store it drives the app on that store's latest snapshot instead
(`make bench` passes the full synthetic enterprise this way).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from foureyes.config import Config, parse_config
from foureyes.model import (
    ACCESS_ADMIN,
    CODE_APPROVE,
    CODE_MERGE_UNREVIEWED,
    CODE_PUSH,
    DEPLOY_APPROVE,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Gap,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
    principal_key,
    resource_key,
)

DOMAIN = "bench.example"
FIRST = ("Ada", "Ben", "Cleo", "Dev", "Eva", "Finn", "Gus", "Hal", "Ida", "Jon", "Kai", "Lea", "Mo", "Nia",
         "Oli", "Pia", "Raj", "Sol", "Tia", "Uma", "Vic", "Wes", "Xia", "Yan", "Zoe")
LAST = ("Adams", "Baker", "Chen", "Diaz", "Evans", "Fox", "Garcia", "Hill", "Ito", "Jones", "Khan", "Lee",
        "Moss", "Ng", "Ortiz", "Park", "Quinn", "Rossi", "Singh", "Tan", "Ueda", "Vega", "Wu", "Young")
LIMIT_MS = 100  # issue 19: every key on Conflicts, Matrix, People and Review: median ≤ 50 ms, max ≤ 100 ms
MEDIAN_MS = 50
LAUNCH_MS = 2000  # launch to a filled Conflicts table, the snapshot's analysis stored beside it
HELP_MS = 150
CONFIG_TOML = f"""
[identity]
email_domains = ["{DOMAIN}"]
"""


def bench_config() -> Config:
    return parse_config(CONFIG_TOML, "<benchmark config>")


def synthetic_org(people: int = 10_000, grants: int = 100_000, seed: int = 7) -> list[SourceResult]:
    """A deterministic org of roughly ``people`` humans and ``grants`` grants in three systems."""
    rng = random.Random(seed)
    n_teams = max(people // 40, 4)
    n_repos = max(people // 4, 8)
    n_apps = max(n_repos // 20, 2)
    n_accounts = max(n_apps // 5, 2)
    gh_p: list[Principal] = []
    gh_r: list[Resource] = []
    gh_g: list[Grant] = []
    gh_e: list[Edge] = []
    aws_p: list[Principal] = []
    aws_r: list[Resource] = []
    aws_g: list[Grant] = []
    aws_e: list[Edge] = []
    gcp_p: list[Principal] = []
    gcp_r: list[Resource] = []
    gcp_g: list[Grant] = []

    def app_of_repo(j: int) -> str:
        return f"app-{j % n_apps:03d}"

    for t in range(n_teams):
        gh_p.append(Principal("github", f"team/bench/team-{t:03d}", Kind.TEAM, f"team team-{t:03d}"))
        if t >= 10:
            gh_e.append(Edge(principal_key("github", f"team/bench/team-{t:03d}"),
                             principal_key("github", f"team/bench/team-{t % 10:03d}"), EdgeKind.MEMBER_OF,
                             f"child team of team-{t % 10:03d}"))
    for j in range(n_repos):
        production = j % 3 == 0
        protected = j % 17 != 0
        gh_r.append(Resource("github", "repo", f"bench/repo-{j:05d}", tier="production" if production else "",
                             app=app_of_repo(j), attrs={"protected": protected, "enforce_admins": True}))
        team = principal_key("github", f"team/bench/team-{j % n_teams:03d}")
        caps = (CODE_PUSH, CODE_APPROVE) + (() if protected else (CODE_MERGE_UNREVIEWED,))
        gh_g.append(Grant("github", team, "write", resource_key("github", "repo", f"bench/repo-{j:05d}"), caps,
                          Via.TEAM, f"team team-{j % n_teams:03d}"))
        if production and j % 9 == 0:
            env = f"bench/repo-{j:05d}/production"
            gh_r.append(Resource("github", "environment", env, tier="production", app=app_of_repo(j),
                                 parent=resource_key("github", "repo", f"bench/repo-{j:05d}"),
                                 attrs={"reviewers": 1, "self_review_allowed": j % 2 == 0}))
            gh_g.append(Grant("github", team, "required reviewer", resource_key("github", "environment", env),
                              (DEPLOY_APPROVE,), Via.REVIEWER, "environment reviewers",
                              attrs={"self_review_allowed": j % 2 == 0}))
    for a in range(n_accounts):
        account = f"{100000000000 + a}"
        tier = "production" if a % 2 == 0 else "staging"
        aws_r.append(Resource("aws", "account", account, f"bench-{a:02d}", tier=tier,
                              app=f"app-{(a * 5) % n_apps:03d}"))
    projects = [f"bench-prod-{k:02d}" for k in range(max(n_accounts, 2))]
    for k, project in enumerate(projects):
        gcp_r.append(Resource("gcp", "project", project, tier="production", app=f"app-{(k * 5 + 1) % n_apps:03d}"))

    # direct repo grants make up what the teams and clouds do not: about 19% of the total
    per_person = max(round((grants * 0.81 - n_repos) / people), 1)
    for i in range(people):
        login = f"u{i:05d}"
        email = f"{login}@{DOMAIN}"
        name = f"{FIRST[i % len(FIRST)]} {LAST[(i // len(FIRST)) % len(LAST)]} {i}"
        user = principal_key("github", login)
        gh_p.append(Principal("github", login, Kind.USER, name, email, attrs={"email_source": "saml"}))
        for t in {rng.randrange(n_teams) for _ in range(rng.randint(1, 2))}:
            gh_e.append(Edge(user, principal_key("github", f"team/bench/team-{t:03d}"), EdgeKind.MEMBER_OF,
                             f"member of team-{t:03d}"))
        for j in rng.sample(range(n_repos), min(per_person, n_repos)):
            unreviewed = rng.random() < 0.05
            caps = (CODE_PUSH, CODE_APPROVE) + ((CODE_MERGE_UNREVIEWED,) if unreviewed else ())
            gh_g.append(Grant("github", user, "admin" if unreviewed else "write",
                              resource_key("github", "repo", f"bench/repo-{j:05d}"), caps, Via.DIRECT,
                              "direct collaborator"))
        if i % 3 == 0:
            sso = f"arn:aws:sso:::user/{login}"
            aws_p.append(Principal("aws", sso, Kind.USER, f"{name} (SSO)", email, attrs={"email_source": "sso"}))
            for a in {rng.randrange(n_accounts) for _ in range(3)}:
                admin = rng.random() < 0.03
                aws_g.append(Grant("aws", principal_key("aws", sso), "AdministratorAccess" if admin else "Deployer",
                                   resource_key("aws", "account", f"{100000000000 + a}"),
                                   (DEPLOY_RUN, ACCESS_ADMIN) if admin else (DEPLOY_RUN,), Via.POLICY,
                                   "permission set", attrs={"actions": ["ecs:UpdateService"]}))
        if i % 5 == 1:
            member = f"user:{email}"
            gcp_p.append(Principal("gcp", member, Kind.USER, name, email, attrs={"email_source": "member"}))
            for project in {projects[rng.randrange(len(projects))] for _ in range(3)}:
                gcp_g.append(Grant("gcp", principal_key("gcp", member), "roles/run.developer",
                                   resource_key("gcp", "project", project), (DEPLOY_RUN,), Via.DIRECT,
                                   "project IAM binding", attrs={"actions": ["run.services.update"]}))
    gaps = [Gap("github", resource_key("github", "repo", f"bench/repo-{j:05d}"), "403 on rulesets",
                "ruleset bypass actors") for j in range(0, n_repos, max(n_repos // 20, 1))]
    stamp = "2026-11-02T08:00:00+00:00"
    return [
        SourceResult("github", "github", tuple(gh_p), tuple(gh_r), tuple(gh_g), tuple(gh_e), tuple(gaps), stamp, stamp),
        SourceResult("aws", "aws", tuple(aws_p), tuple(aws_r), tuple(aws_g), tuple(aws_e), (), stamp, stamp),
        SourceResult("gcp", "gcp", tuple(gcp_p), tuple(gcp_r), tuple(gcp_g), (), (), stamp, stamp),
    ]


# ---------------------------------------------------------------- timing the app


class Timings:
    """Measurements, printed as they come; ``--json`` also emits them as rows for benchmarks/run.py."""

    def __init__(self, out: Any = sys.stdout) -> None:
        self.out = out
        self.rows: list[dict[str, Any]] = []

    def add(self, name: str, seconds: list[float], note: str = "", *, limit_ms: float | None = None,
            median_ms: float | None = None) -> None:
        """``limit_ms`` is a target met by the max; ``median_ms`` one met by the median (issue 19: every
        key median ≤ 50 ms and max ≤ 100 ms)."""
        worst = max(seconds) * 1000
        middle = statistics.median(seconds) * 1000
        row = {"name": f"tui: {name}", "measured": " ".join(_fmt(seconds).split()), "target": "", "ok": None,
               "note": note}
        if median_ms is not None and limit_ms is not None:
            row["target"] = f"median ≤ {median_ms:.0f} ms, max ≤ {limit_ms:.0f} ms"
            row["ok"] = middle <= median_ms and worst <= limit_ms
        elif limit_ms is not None:
            row["target"] = f"≤ {limit_ms:.0f} ms"
            row["ok"] = worst <= limit_ms
        self.rows.append(row)
        print(f"  {name:<56} {_fmt(seconds):>28}  {row['target']:>9}  {note}", file=self.out, flush=True)


def _fmt(seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    if len(ms) == 1:
        return f"{ms[0]:9.1f} ms"
    return f"median {statistics.median(ms):6.1f} ms, max {max(ms):6.1f} ms"


async def _timed(key: str, app: Any, pilot: Any) -> float:
    """From a key reaching the app to the screen repainted: every handler run, every line drawn.

    Pilot's own ``press`` waits for the process to look idle in 20 ms steps, which hides what
    the UI costs; here the key is posted like the terminal driver posts it, the handlers are
    awaited, and the whole screen is composited once, as a refresh would send it.
    """
    from textual import events

    await pilot.pause()  # earlier work (detail panes) settles first, untimed
    character = key if len(key) == 1 else (" " if key == "space" else None)
    start = time.perf_counter()
    app.post_message(events.Key(key, character))
    for _ in range(3):  # the app forwards the key; widgets post messages to their screen
        await pilot._wait_for_screen()
    app.screen._compositor.render_update(full=True)
    return time.perf_counter() - start


async def _wait_for(condition: Callable[[], bool], pilot: Any, timeout: float = 600, step: float = 0.02) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(step)
    return time.perf_counter() - start


async def drive(url: str, config: Config, repeat: int, timings: Timings) -> None:
    from textual import events

    from foureyes.tui import make_app

    app = make_app(store_url=url, config=config)
    started = time.perf_counter()
    async with app.run_test(size=(160, 45)) as pilot:
        await pilot._wait_for_screen()
        app.screen._compositor.render_update(full=True)
        timings.add("first paint (Overview, loading status)", [time.perf_counter() - started],
                    "app start to the first screen drawn")
        # The key is posted as the terminal driver posts it, like every timed key (`_timed`). Pilot's
        # `press` waits for the process to look idle, up to a second twice; loading, the rest of the
        # rows, drift and the help's layout keep it busy, so with it this row read ≈ 2.1 s after the
        # first paint however early the rows showed.
        app.post_message(events.Key("2", "2"))
        await _wait_for(lambda: app.current_mode == "conflicts", pilot, step=0.005)
        await pilot._wait_for_screen()
        screen = app.screen
        await _wait_for(lambda: screen.table.row_count > 0, pilot, step=0.005)
        app.screen._compositor.render_update(full=True)
        stale = getattr(app.triage.analysis, "stale", None)
        timings.add("launch to a filled Conflicts table (snapshot taken, analysis stored)",
                    [time.perf_counter() - started],
                    f"its first {screen.table.row_count} rows, in order" + (f"; STALE ({stale.describe()})" if stale else ""),
                    limit_ms=LAUNCH_MS)
        total = len(app.triage.analysis.findings)
        await _wait_for(lambda: len(screen.table.rows) >= total, pilot, step=0.005)
        timings.add("launch to the whole Conflicts table", [time.perf_counter() - started], f"{total} findings")
        await _settle(app, pilot)
        await _section(app, pilot, screen, repeat, timings, "conflicts", _conflict_query(app.triage))

        await pilot.press("3")
        screen = app.screen
        await _wait_for(lambda: screen.table.row_count > 0, pilot)
        await _settle(app, pilot)
        await _section(app, pilot, screen, repeat, timings, "matrix", _person_query(app.triage))
        await pilot.press("escape")
        toggles = [await _timed("c", app, pilot) for _ in range(repeat * 2)]
        timings.add("matrix: toggle conflicts only (key c)", toggles, "rows filtered in a worker",
                    limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
        teams = []
        for team in app.triage.teams[:repeat]:
            await _settle(app, pilot)
            start = time.perf_counter()
            screen.set_scope(team=team)  # what choosing a team in the Select does
            for _ in range(3):
                await pilot._wait_for_screen()
            app.screen._compositor.render_update(full=True)
            teams.append(time.perf_counter() - start)
        if teams:
            await _settle(app, pilot)
            timings.add("matrix: team filter (choice to repaint; members and rows in a worker)", teams,
                        f"{screen.table.row_count} people in the last team", limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
        screen.set_scope(team="")
        tiers = []
        for _ in range(repeat):
            before = screen.table.rows
            start = time.perf_counter()
            await pilot.press("t")
            await _wait_for(lambda: screen.table.rows is not before, pilot, step=0.002)
            await pilot._wait_for_screen()
            app.screen._compositor.render_update(full=True)
            tiers.append(time.perf_counter() - start)
            await _settle(app, pilot)
        timings.add("matrix: next tier (core matrix_rows in a worker)", tiers,
                    "key to rows painted; the UI stays live meanwhile")

        await pilot.press("4")
        screen = app.screen
        await _wait_for(lambda: screen.table.row_count > 0, pilot)
        await _settle(app, pilot)
        await _section(app, pilot, screen, repeat, timings, "people", _person_query(app.triage))

        helps = []
        for _ in range(repeat):
            await _settle(app, pilot)
            start = time.perf_counter()
            app.post_message(events.Key("f1", None))
            await _wait_for(lambda: type(app.screen).__name__ == "HelpScreen", pilot, step=0.001)
            for _ in range(2):
                await pilot._wait_for_screen()
            app.screen._compositor.render_update(full=True)
            helps.append(time.perf_counter() - start)
            await pilot.press("escape")
        timings.add("help opens (key to the help drawn)", helps, "laid out in a worker at start",
                    limit_ms=HELP_MS)

        start = time.perf_counter()
        await pilot.press("slash")
        search = app.screen
        await _wait_for(lambda: bool(search.query_one("#search-results").rows), pilot)
        timings.add("search: first open, until results show (index built in a worker)", [time.perf_counter() - start],
                    f"{len(search.query_one('#search-results').rows)} entries")
        keys = [await _timed(c, app, pilot) for c in "u0042"]
        timings.add("search: each key typed", keys, "filters every entry")
        await pilot.press("escape")
        await _settle(app, pilot)
        switches = [await _timed(key, app, pilot) for key in "12345" * max(repeat // 2, 1)]
        timings.add("switch sections (screens built, idle)", switches, "number keys 1-5")


async def drive_review(url: str, config: Config, reviewer: str, campaign_id: int, repeat: int,
                       timings: Timings) -> None:
    """`foureyes review --as REVIEWER`: the queue of one campaign (the fallback reviewer's: every item)."""
    from foureyes.tui import make_app

    app = make_app(store_url=url, config=config, reviewer=reviewer, campaign_id=campaign_id, review=True)
    started = time.perf_counter()
    async with app.run_test(size=(160, 45)) as pilot:
        await _wait_for(lambda: type(app.screen).__name__ == "ReviewScreen" and app.screen.table.row_count > 0,
                        pilot)
        screen = app.screen
        timings.add("review: launch to a filled queue", [time.perf_counter() - started],
                    f"{screen.table.row_count} items")
        await _settle(app, pilot)
        await _section(app, pilot, screen, repeat, timings, "review", _queue_query(screen), sorts=False)


async def _settle(app: Any, pilot: Any) -> None:
    """Every worker done (a cancelled one is fine: a newer one replaced it), the screen drawn."""
    from textual.worker import WorkerCancelled

    for _ in range(5):
        try:
            await app.workers.wait_for_complete()
            break
        except WorkerCancelled:
            continue
    await pilot.pause()


def _queue_query(screen: Any) -> str:
    """The start of the name of the person in the middle of the queue."""
    rows = screen.table.visible_rows
    return str(rows[len(rows) // 2].cells[1]).split()[0][:6].lower()


def _conflict_query(triage: Any) -> str:
    """What a user would type to find one conflict: its rule and the start of its person's name
    (taken from the data, so the script runs on any snapshot)."""
    findings = [f for f in triage.analysis.findings if f.person]
    finding = findings[len(findings) // 2]
    person = triage.analysis.person(finding.person)
    name = (person.display_name if person else finding.person).split()[0][:6]
    return f"{finding.rule.id} {name}".lower()


def _person_query(triage: Any) -> str:
    """The start of a name in the middle of the matrix, and a digit: a few rows are left."""
    people = sorted(triage.analysis.identities.people.values(), key=lambda p: p.key)
    name = people[len(people) // 2].display_name or people[len(people) // 2].key
    return name.split()[0][:4].lower() + " 1"


async def _section(app: Any, pilot: Any, screen: Any, repeat: int, timings: Timings, name: str,
                   query: str, *, sorts: bool = True) -> None:
    table = screen.table
    moves = [await _timed("down", app, pilot) for _ in range(repeat * 4)]
    timings.add(f"{name}: cursor down (key, repaint)", moves, "detail pane follows in a worker",
                limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
    pages = [await _timed("pagedown", app, pilot) for _ in range(repeat)]
    timings.add(f"{name}: page down", pages, limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
    ends = [await _timed("end", app, pilot), await _timed("home", app, pilot)]
    timings.add(f"{name}: end, then home", ends, limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
    await _settle(app, pilot)
    await pilot.press("f")
    keys = []
    for c in query:
        keys.append(await _timed("space" if c == " " else c, app, pilot))
    typed = time.perf_counter()
    await _settle(app, pilot)
    landed = time.perf_counter() - typed
    timings.add(f"{name}: filter, each key typed", keys, f"{table.row_count} of {len(table.rows)} rows left; "
                f"the last key's rows shown {landed * 1000:.0f} ms after it (filtered in a worker)",
                limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
    clears = [await _timed("backspace", app, pilot) for _ in query]
    timings.add(f"{name}: filter, each backspace", clears, limit_ms=LIMIT_MS, median_ms=MEDIAN_MS)
    await _settle(app, pilot)
    if sorts:
        from foureyes.tui.rows import parse_filter

        raw = []
        for _ in range(repeat):
            start = time.perf_counter()
            table.set_filter(parse_filter(query, screen.FIELDS))
            raw.append(time.perf_counter() - start)
            table.set_filter(None)
        timings.add(f"{name}: filter alone (no key, no paint)", raw, f"over {len(table.rows)} rows")
        times = []
        for column in [c.key for c in screen.COLUMNS][:3]:
            start = time.perf_counter()
            table.sort_by(column)
            times.append(time.perf_counter() - start)
        timings.add(f"{name}: sort by a column (no paint)", times)
        table.sort_by(None)
    await pilot.press("escape")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=10_000)
    parser.add_argument("--grants", type=int, default=100_000)
    parser.add_argument("--scale", type=float, default=1.0, help="multiplies --people and --grants")
    parser.add_argument("--repeat", type=int, default=5, help="samples per measurement (x4 for cursor moves)")
    parser.add_argument("--db", type=Path, default=None,
                        help="an existing store to drive the app on; if missing, the synthetic org is stored there "
                             "and reused on the next run")
    parser.add_argument("--config", type=Path, default=None,
                        help="the config file the stored analysis was computed with (default: the script's own)")
    parser.add_argument("--reviewer", default="", help="also drive `foureyes review --as REVIEWER` on --campaign")
    parser.add_argument("--campaign", type=int, default=None, help="the campaign --reviewer reviews")
    parser.add_argument("--json", action="store_true",
                        help="end with one JSON line of result rows (for benchmarks/run.py); progress on stderr")
    args = parser.parse_args(argv)
    people = max(round(args.people * args.scale), 20)
    grants = max(round(args.grants * args.scale), 200)
    if args.config is not None:
        from foureyes.config import load_config_file

        config = load_config_file(args.config)
    else:
        config = bench_config()
    timings = Timings(sys.stderr if args.json else sys.stdout)
    print(f"foureyes TUI at scale: {people} people, about {grants} grants", file=timings.out, flush=True)
    if args.db is not None:
        if not args.db.exists():
            prepare(f"sqlite:///{args.db}", people, grants, config, timings)
        asyncio.run(drive(f"sqlite:///{args.db}", config, args.repeat, timings))
        if args.reviewer and args.campaign is not None:
            asyncio.run(drive_review(f"sqlite:///{args.db}", config, args.reviewer, args.campaign, args.repeat,
                                     timings))
    else:
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            prepare(url, people, grants, config, timings)
            asyncio.run(drive(url, config, args.repeat, timings))
    if args.json:
        if args.scale != 1.0:  # the targets are for the full size; smaller runs only exercise the script
            for row in timings.rows:
                if row["target"]:
                    row["target"], row["ok"] = f"({row['target']} at scale 1)", None
        print(json.dumps(timings.rows))
    return 0


def prepare(url: str, people: int, grants: int, config: Config, timings: Timings) -> None:
    """Build, store, load and analyse the org once outside the app, for reference."""
    from foureyes.analysis import analyze
    from foureyes.store import Store

    start = time.perf_counter()
    sources = synthetic_org(people, grants)
    timings.add("build the synthetic org", [time.perf_counter() - start],
                f"{sum(len(s.grants) for s in sources)} grants, {sum(len(s.principals) for s in sources)} principals")
    with Store(url) as store:
        start = time.perf_counter()
        info = store.write_snapshot(sources, taken_at="2026-11-02T08:00:00+00:00", label="benchmark")
        timings.add("store it (SQLite)", [time.perf_counter() - start])
        start = time.perf_counter()
        snapshot = store.load_snapshot(info.id)
        timings.add("core: load the snapshot", [time.perf_counter() - start])
        start = time.perf_counter()
        analysis = analyze(snapshot, config)
        timings.add("core: analyse (link, graph, rules)", [time.perf_counter() - start],
                    f"{len(analysis.identities.people)} people, {len(analysis.findings)} findings")


if __name__ == "__main__":
    sys.exit(main())
