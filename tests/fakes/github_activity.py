"""The fake GitHub's activity: merged pull requests with commits, reviews and merge path (GraphQL),
deployments (GraphQL), the repository activity API, compare, rule suites, Actions runs and their
environment approvals, and the organisation audit log (REST), from the fixture's declarations.

Real shapes (GitHub's published REST description and GraphQL schema), cursor pagination where
GitHub uses cursors (repository activity, audit log: ``before``/``after`` in the Link header),
page numbers elsewhere, and GitHub's errors: 404 for an audit log the plan lacks, 403 for a
token that may not read it.

Fixture (per repository, under ``activity``)::

    pull_requests: [{number, title, author, merged_by, merged_at, updated_at, created_at, base,
                     merge_commit, merge_parents, merge_queue: LOGIN, review_decision,
                     commits: [{oid, author: LOGIN | {email, name}, co_authors: [...], committed_at,
                                committer: LOGIN | {email, name}, message}],
                     reviews: [{author, state, submitted_at, commit}],
                     force_pushes: [{actor, at, after}]}]
    pushes: [{id, actor, before, after, timestamp, type: push | force_push | pr_merge, ref}]
    commits: {SHA: {author, committer, message, date}}        # for compare of direct pushes
    rule_suites: [{id, actor, before, after, ref, pushed_at, result, rules: [{name, type, result}]}]
    deployments: [{id, environment, sha, ref, creator, created_at, state, run}]
    runs: {ID: {actor, triggering_actor, event, path, head_sha, head_branch, created_at,
                approvals: [{user, state, comment, environments: [NAME]}], forbidden: true}}

and at the top level ``audit_log: [{action, actor, repo, branch, created_at, …}]``; the token
flags ``audit_log`` (True), ``org_rule_suites`` (True).
"""

from __future__ import annotations

import base64
import urllib.parse
from datetime import datetime, timezone
from typing import Any

from graphql import GraphQLError


def _iso_ms(when: str) -> int:
    return int(datetime.fromisoformat(when.replace("Z", "+00:00")).timestamp() * 1000)


def ApiFailure(status: int, message: str) -> Exception:  # noqa: N802 - raised like the server's ApiError
    from .github_server import ApiError

    return ApiError(status, message)


class Cursored:
    """A list GitHub pages with cursors: ``after``/``before`` in the query and the Link header."""

    def __init__(self, items: list[Any]):
        self.items = items

    def page(self, host: str, parsed: urllib.parse.SplitResult, query: dict[str, list[str]]) -> tuple[list[Any], dict[str, str]]:
        per_page = min(100, max(1, int(query.get("per_page", ["30"])[-1])))
        after = query.get("after", [""])[-1]
        start = _decode(after) if after else 0
        chunk = self.items[start:start + per_page]
        headers = {}
        if start + per_page < len(self.items):
            params = {k: v[-1] for k, v in query.items() if k not in ("after", "before")}
            params.update(per_page=str(per_page), after=_encode(start + per_page))
            headers["Link"] = f'<http://{host}{parsed.path}?{urllib.parse.urlencode(params)}>; rel="next"'
        return chunk, headers


class Listed:
    """A list GitHub wraps in an object with its ``total_count`` (``{"total_count", KEY: [...]}``),
    paged by ``page``/``per_page`` with a Link header."""

    def __init__(self, items: list[Any], key: str):
        self.items, self.key = items, key

    def page(self, host: str, parsed: urllib.parse.SplitResult, query: dict[str, list[str]]) -> tuple[Any, dict[str, str]]:
        per_page = min(100, max(1, int(query.get("per_page", ["30"])[-1])))
        number = max(1, int(query.get("page", ["1"])[-1]))
        chunk = self.items[(number - 1) * per_page: number * per_page]
        headers = {}
        if number * per_page < len(self.items):
            params = {k: v[-1] for k, v in query.items()}
            params.update(per_page=str(per_page), page=str(number + 1))
            headers["Link"] = f'<http://{host}{parsed.path}?{urllib.parse.urlencode(params)}>; rel="next"'
        return {"total_count": len(self.items), self.key: chunk}, headers


def _encode(n: int) -> str:
    return base64.urlsafe_b64encode(f"Y3Vyc29y:{n}".encode()).decode()


def _decode(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode().rsplit(":", 1)[1])
    except Exception:
        raise ApiFailure(422, "Invalid cursor") from None


# ---------------------------------------------------------------- GraphQL


def _actor(org: Any, login: str | None) -> dict[str, Any] | None:
    if not login:
        return None
    if login.endswith("[bot]"):
        return {"__typename": "Bot", "login": login.removesuffix("[bot]"), "id": f"BOT_{login}"}
    uid = org.user_ids.get(login, 9999)
    return {"__typename": "User", "login": login, "id": f"U_{uid}", "databaseId": uid, "name": login, "email": ""}


def _git_actor(org: Any, spec: Any) -> dict[str, Any]:
    if isinstance(spec, dict):
        login = spec.get("login")
        # GitHub matches a commit to a User only: a bot's commits have user null (its noreply address names it)
        user = _actor(org, login) if login and not login.endswith("[bot]") else None
        return {"email": spec.get("email"), "name": spec.get("name"), "user": user}
    person = org.people.get(spec, {})
    return {"email": person.get("email") or f"{spec}@users.noreply.github.com", "name": person.get("name") or spec,
            "user": _actor(org, spec)}


def _commit(org: Any, spec: dict[str, Any], pr: dict[str, Any] | None = None) -> dict[str, Any]:
    oid = spec["oid"]
    message = spec.get("message", f"commit {oid}")
    trailers = []
    for co in spec.get("co_authors", []):  # as git writes them: the message's last paragraph
        actor = _git_actor(org, co)
        trailers.append(f"Co-authored-by: {actor['name']} <{actor['email']}>")
    if trailers:
        message += "\n\n" + "\n".join(trailers)
    return {"id": f"C_{oid}", "oid": oid, "committedDate": spec.get("committed_at", "2026-01-01T00:00:00Z"),
            "message": message, "author": _git_actor(org, spec.get("author") or (pr or {}).get("author")),
            "committer": _git_actor(org, spec.get("committer", {"login": "web-flow", "name": "GitHub",
                                                                 "email": "noreply@github.com"})),
            "parents": lambda info, **args: _connection([{"oid": f"p{i}"} for i in range(spec.get("parents", 1))],
                                                        args, "parents")}


def _connection(items: list[Any], args: dict[str, Any], name: str) -> dict[str, Any]:
    from .github_server import connection

    if args.get("last") is not None and args.get("first") is None:
        size = args["last"]
        if size > 100:
            raise GraphQLError(f"Requesting {size} records on the `{name}` connection exceeds the `last` limit of "
                               "100 records.")
        tail = items[-size:] if size else []
        out = connection(tail, {"first": max(1, len(tail))}, name)
        out["totalCount"] = len(items)
        out["pageInfo"]["hasPreviousPage"] = len(items) > len(tail)
        out["pageInfo"]["hasNextPage"] = False
        return out
    return connection(items, args, name)


class GqlPull:
    """A merged pull request from the fixture, in GitHub's GraphQL shape."""

    def __init__(self, org: Any, repo: dict[str, Any], pr: dict[str, Any]):
        self.org, self.repo, self.pr = org, repo, pr
        self.number = pr["number"]
        self.id = f"PR_{repo['name']}_{pr['number']}"
        self.title = pr.get("title", f"Change {pr['number']}")
        self.url = f"https://github.example/{org.login}/{repo['name']}/pull/{pr['number']}"
        self.mergedAt = pr.get("merged_at")
        self.createdAt = pr.get("created_at", pr.get("merged_at"))
        self.updatedAt = pr.get("updated_at", pr.get("merged_at"))
        self.baseRefName = pr.get("base", repo.get("default_branch", "main"))
        commits = pr.get("commits", [])
        self.headRefOid = pr.get("head", commits[-1]["oid"] if commits else "0" * 40)
        self.reviewDecision = pr.get("review_decision")

    def author(self, info: Any) -> Any:
        return _actor(self.org, self.pr.get("author"))

    def mergedBy(self, info: Any) -> Any:
        return _actor(self.org, self.pr.get("merged_by", self.pr.get("author")))

    def mergeCommit(self, info: Any) -> Any:
        oid = self.pr.get("merge_commit")
        return _commit(self.org, {"oid": oid, "parents": self.pr.get("merge_parents", 1)}, self.pr) if oid else None

    def commits(self, info: Any, **args: Any) -> dict[str, Any]:
        nodes = [{"id": f"PRC_{c['oid']}", "commit": _commit(self.org, c, self.pr)} for c in self.pr.get("commits", [])]
        return _connection(nodes, args, "commits")

    def reviews(self, info: Any, states: list[str] | None = None, **args: Any) -> dict[str, Any]:
        out = []
        for i, r in enumerate(self.pr.get("reviews", [])):
            if states and r.get("state", "APPROVED") not in states:
                continue
            out.append({"id": f"PRR_{self.number}_{i}", "author": _actor(self.org, r["author"]),
                        "state": r.get("state", "APPROVED"), "submittedAt": r.get("submitted_at"),
                        "commit": _commit(self.org, {"oid": r["commit"]}) if r.get("commit") else None})
        return _connection(out, args, "reviews")

    def timelineItems(self, info: Any, itemTypes: list[str] | None = None, **args: Any) -> dict[str, Any]:
        items = []
        if self.pr.get("merge_queue"):
            items.append({"__typename": "AddedToMergeQueueEvent", "id": f"AMQ_{self.number}",
                          "createdAt": self.mergedAt, "enqueuer": _actor(self.org, self.pr["merge_queue"])})
        for i, push in enumerate(self.pr.get("force_pushes", [])):
            items.append({"__typename": "HeadRefForcePushedEvent", "id": f"HRFP_{self.number}_{i}",
                          "createdAt": push["at"], "actor": _actor(self.org, push["actor"]),
                          "afterCommit": _commit(self.org, {"oid": push.get("after", self.headRefOid)})})
        wanted = {"AddedToMergeQueueEvent": "ADDED_TO_MERGE_QUEUE_EVENT",
                  "HeadRefForcePushedEvent": "HEAD_REF_FORCE_PUSHED_EVENT"}
        items = [i for i in sorted(items, key=lambda i: i["createdAt"] or "")
                 if not itemTypes or wanted[i["__typename"]] in itemTypes]
        return _connection(items, args, "timelineItems")


class GqlRepoActivity:
    """What `GqlRepo` answers about activity (mixed into it)."""

    org: Any
    r: dict[str, Any]

    def _activity(self) -> dict[str, Any]:
        return self.r.get("activity") or {}

    def pullRequests(self, info: Any, states: list[str] | None = None, baseRefName: str | None = None,
                     orderBy: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
        if self.r.get("activity_forbidden"):
            raise _forbidden()
        pulls = [p for p in self._activity().get("pull_requests", [])
                 if (not baseRefName or p.get("base", self.r.get("default_branch", "main")) == baseRefName)
                 and (not states or "MERGED" in states)]
        field = {"UPDATED_AT": "updated_at", "CREATED_AT": "created_at"}.get((orderBy or {}).get("field", ""),
                                                                             "created_at")
        pulls.sort(key=lambda p: p.get(field) or p.get("merged_at") or "",
                   reverse=(orderBy or {}).get("direction") == "DESC")
        return _connection([GqlPull(self.org, self.r, p) for p in pulls], args, "pullRequests")

    def pullRequest(self, info: Any, number: int) -> Any:
        found = next((p for p in self._activity().get("pull_requests", []) if p["number"] == number), None)
        return GqlPull(self.org, self.r, found) if found else None

    def deployments(self, info: Any, environments: list[str] | None = None,
                    orderBy: dict[str, str] | None = None, **args: Any) -> dict[str, Any]:
        if self.r.get("deployments_forbidden"):
            raise _forbidden()
        found = [d for d in self._activity().get("deployments", [])
                 if not environments or d["environment"] in environments]
        found.sort(key=lambda d: d["created_at"], reverse=(orderBy or {}).get("direction") == "DESC")
        repo = self.r["name"]

        def node(d: dict[str, Any]) -> dict[str, Any]:
            run = d.get("run")
            log = f"https://github.example/{self.org.login}/{repo}/actions/runs/{run}/job/{run * 10}" if run else None
            return {"id": f"DE_{d['id']}", "databaseId": d["id"], "createdAt": d["created_at"],
                    "environment": d["environment"], "commitOid": d.get("sha", "0" * 40), "task": "deploy",
                    "ref": {"id": f"REF_{d.get('ref', 'main')}", "name": d.get("ref", "main"), "prefix": "refs/heads/",
                            "branchProtectionRule": None},
                    "creator": _actor(self.org, d.get("creator")),
                    "latestStatus": {"id": f"DS_{d['id']}", "state": d.get("state", "SUCCESS"), "logUrl": log,
                                     "createdAt": d["created_at"]}}

        return _connection([node(d) for d in found], args, "deployments")


class _Forbidden(GraphQLError):
    gh_type = "FORBIDDEN"


def _forbidden() -> GraphQLError:
    return _Forbidden("Resource not accessible by integration")


# ---------------------------------------------------------------- REST


def rest_routes(fake: Any, o: str, q: dict[str, str]) -> list[tuple[str, str, Any]]:
    org = fake.org

    def activity(repo: str) -> dict[str, Any]:
        return org.repo(repo).get("activity") or {}

    def period(allowed: tuple[str, ...], default: str) -> None:
        # GitHub validates the window; the fake serves everything inside it (its times are recent)
        if q.get("time_period", default) not in allowed:
            raise ApiFailure(422, f"Invalid request.\n\n{q.get('time_period')!r} is not one of {list(allowed)}.")

    def repo_activity(repo: str) -> Cursored:
        period(("day", "week", "month", "quarter", "year"), "year")
        r = org.repo(repo)
        if r.get("activity_forbidden"):
            raise ApiFailure(403, "Resource not accessible by integration")
        pushes = [p for p in activity(repo).get("pushes", [])
                  if (not q.get("ref") or p.get("ref", f"refs/heads/{r.get('default_branch', 'main')}") == q["ref"])
                  and (not q.get("activity_type") or p.get("type", "push") == q["activity_type"])]
        pushes.sort(key=lambda p: p["timestamp"], reverse=q.get("direction", "desc") == "desc")
        return Cursored([{"id": p.get("id", i + 1), "node_id": f"AC_{i}", "before": p["before"], "after": p["after"],
                          "ref": p.get("ref", f"refs/heads/{r.get('default_branch', 'main')}"),
                          "timestamp": p["timestamp"], "activity_type": p.get("type", "push"),
                          "actor": org.user(p["actor"]) if p.get("actor") else None}
                         for i, p in enumerate(pushes)])

    def compare(repo: str, basehead: str) -> dict[str, Any]:
        before, _, after = urllib.parse.unquote(basehead).partition("...")
        commits = activity(repo).get("commits", {})
        push = next((p for p in activity(repo).get("pushes", []) if p["after"] == after and p["before"] == before), None)
        if push is None:
            raise ApiFailure(404, "Not Found")
        listed = []
        for sha in push.get("commits", [after]):
            c = commits.get(sha, {})
            author, committer = c.get("author", push.get("actor")), c.get("committer", push.get("actor"))

            def who(spec: Any) -> tuple[dict[str, Any] | None, dict[str, Any]]:
                if isinstance(spec, dict):
                    return (org.user(spec["login"]) if spec.get("login") else None,
                            {"name": spec.get("name"), "email": spec.get("email"), "date": c.get("date", push["timestamp"])})
                person = org.people.get(spec, {})
                return org.user(spec), {"name": person.get("name") or spec, "email": person.get("email") or
                                        f"{spec}@users.noreply.github.com", "date": c.get("date", push["timestamp"])}

            a_user, a_git = who(author)
            c_user, c_git = who(committer)
            listed.append({"sha": sha, "node_id": f"C_{sha}", "author": a_user, "committer": c_user,
                           "commit": {"author": a_git, "committer": c_git, "message": c.get("message", f"commit {sha}")},
                           "parents": [{"sha": before}]})
        return {"status": "ahead", "ahead_by": len(listed), "behind_by": 0, "total_commits": len(listed),
                "commits": listed, "files": []}

    def suite_json(repo: str, s: dict[str, Any], *, detail: bool) -> dict[str, Any]:
        out = {"id": s["id"], "actor_id": org.user_ids.get(s.get("actor", ""), 9999), "actor_name": s.get("actor"),
               "before_sha": s.get("before", "0" * 40), "after_sha": s.get("after", "1" * 40),
               "ref": s.get("ref", "refs/heads/main"), "repository_id": org.repo_ids[repo],
               "repository_name": repo, "pushed_at": s["pushed_at"], "result": s.get("result", "bypass"),
               "evaluation_result": s.get("evaluation_result", s.get("result", "bypass"))}
        if detail:
            out["rule_evaluations"] = [
                {"rule_source": {"type": r.get("source", "ruleset"), "id": r.get("id", 1), "name": r["name"]},
                 "enforcement": r.get("enforcement", "active"), "result": r.get("result", "bypass"),
                 "rule_type": r.get("type", "pull_request"), "details": None} for r in s.get("rules", [])]
        return out

    def suites(repo: str | None) -> list[dict[str, Any]]:
        period(("hour", "day", "week", "month"), "day")
        names = [repo] if repo else list(org.repos)
        out = []
        for name in names:
            for s in activity(name).get("rule_suites", []):
                if q.get("rule_suite_result", "all") in ("all", s.get("result", "bypass")):
                    out.append(suite_json(name, s, detail=False))
        return sorted(out, key=lambda s: s["pushed_at"], reverse=True)

    def org_suites() -> list[dict[str, Any]]:
        if not org.token.get("org_rule_suites", True):
            raise ApiFailure(403, "Must be an organization owner or have the manage rulesets permission.")
        return suites(None)

    def suite(repo: str, sid: str) -> dict[str, Any]:
        for s in activity(repo).get("rule_suites", []):
            if str(s["id"]) == sid:
                return suite_json(repo, s, detail=True)
        raise ApiFailure(404, "Not Found")

    def run(repo: str, rid: str) -> dict[str, Any]:
        spec = activity(repo).get("runs", {}).get(int(rid)) or activity(repo).get("runs", {}).get(str(rid))
        if spec is None:
            raise ApiFailure(404, "Not Found")
        if spec.get("forbidden"):
            raise ApiFailure(403, "Resource not accessible by integration")
        base = f"https://github.example/{org.login}/{repo}/actions/runs/{rid}"
        return {"id": int(rid), "name": spec.get("name", "deploy"), "node_id": f"WFR_{rid}",
                "head_branch": spec.get("head_branch", "main"), "head_sha": spec.get("head_sha", "0" * 40),
                "path": spec.get("path", ".github/workflows/deploy.yml"), "run_number": int(rid) % 1000,
                "run_attempt": spec.get("run_attempt", 1), "event": spec.get("event", "push"),
                "status": "completed", "conclusion": "success", "workflow_id": 1, "html_url": base,
                "created_at": spec.get("created_at"), "updated_at": spec.get("updated_at", spec.get("created_at")),
                "actor": org.user(spec["actor"]) if spec.get("actor") else None,
                "triggering_actor": org.user(spec.get("triggering_actor", spec.get("actor")))
                if spec.get("triggering_actor", spec.get("actor")) else None}

    def runs(repo: str) -> Listed:
        """``GET …/actions/runs?created=>=DATE&exclude_pull_requests=true``: the deploy runs of the fixture
        and ``ci_runs`` more (builds on every push), newest first."""
        since = q.get("created", "").removeprefix(">=")
        listed = []
        for rid in (int(k) for k in activity(repo).get("runs", {})):
            spec = activity(repo).get("runs", {}).get(rid) or activity(repo).get("runs", {}).get(str(rid))
            if spec.get("forbidden"):
                continue  # the fixture's way of a run the token may not read: asked for alone, a 403
            if not since or str(spec.get("created_at", ""))[:10] >= since:
                listed.append(run(repo, str(rid)))
        ci = activity(repo).get("ci_runs", 0)
        times = sorted(str(r.get("created_at") or "") for r in listed) or [""]
        for i in range(ci):  # spread between the deploy runs, as builds on every push are
            listed.append({"id": 10_000_000 + i, "name": "ci", "event": "push", "status": "completed",
                           "path": ".github/workflows/ci.yml", "created_at": times[i * len(times) // ci],
                           "actor": None, "triggering_actor": None})
        listed.sort(key=lambda r: (str(r.get("created_at") or ""), r["id"]), reverse=True)  # newest first
        return Listed(listed, "workflow_runs")

    def approvals(repo: str, rid: str) -> list[dict[str, Any]]:
        run(repo, rid)  # 404/403 as the run
        spec = activity(repo).get("runs", {}).get(int(rid)) or activity(repo).get("runs", {}).get(str(rid))
        envs = {e["name"]: 4000 + i for i, e in enumerate(org.repo(repo).get("environments", []))}
        return [{"state": a.get("state", "approved"), "comment": a.get("comment", ""), "user": org.user(a["user"]),
                 "environments": [{"id": envs.get(n, 1), "node_id": f"EN_{n}", "name": n,
                                   "url": f"/repos/{org.login}/{repo}/environments/{n}",
                                   "html_url": f"https://github.example/{org.login}/{repo}/deployments/{n}",
                                   "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"}
                                  for n in a.get("environments", ["production"])]}
                for a in spec.get("approvals", [])]

    def audit_log() -> Cursored:
        if org.data["org"].get("plan", "enterprise") != "enterprise":
            raise ApiFailure(404, "Not Found")
        if not org.token.get("audit_log", True):
            raise ApiFailure(403, "Must have admin:org or read:audit_log scope")
        phrase = q.get("phrase", "")
        since = next((t.split(">=", 1)[1] for t in phrase.split() if t.startswith("created:>=")), "")
        actions = [t.split(":", 1)[1] for t in phrase.split() if t.startswith("action:")]
        entries = []
        for i, e in enumerate(org.data.get("audit_log", [])):
            if since and e["created_at"][:10] < since:
                continue
            if actions and not any(e["action"] == a or e["action"].startswith(a + ".") for a in actions):
                continue
            entry = {k: v for k, v in e.items() if k != "created_at"}
            entry.update({"@timestamp": _iso_ms(e["created_at"]), "created_at": _iso_ms(e["created_at"]),
                          "_document_id": e.get("id", f"doc-{i}"), "org": org.login, "org_id": 1,
                          "actor_id": org.user_ids.get(e.get("actor", ""), 9999)})
            if e.get("repo"):
                entry["repo"] = f"{org.login}/{e['repo']}"
            entries.append(entry)
        entries.sort(key=lambda e: e["@timestamp"], reverse=q.get("order", "desc") == "desc")
        return Cursored(entries)

    repo_part = rf"/repos/{o}/(?P<repo>[^/]+)"
    return [
        ("GET", rf"{repo_part}/activity", repo_activity),
        ("GET", rf"{repo_part}/compare/(?P<basehead>.+)", compare),
        ("GET", rf"{repo_part}/rulesets/rule-suites", lambda repo: suites(repo)),
        ("GET", rf"{repo_part}/rulesets/rule-suites/(?P<sid>\d+)", suite),
        ("GET", rf"/orgs/{o}/rulesets/rule-suites", org_suites),
        ("GET", rf"{repo_part}/actions/runs", runs),
        ("GET", rf"{repo_part}/actions/runs/(?P<rid>\d+)", run),
        ("GET", rf"{repo_part}/actions/runs/(?P<rid>\d+)/approvals", approvals),
        ("GET", rf"/orgs/{o}/audit-log", audit_log),
    ]


# ---------------------------------------------------------------- the fixture's relative times

_RELATIVE = __import__("re").compile(r"^-(\d+)d(?:(\d+)h)?$")


def activity_fixture(name: str = "activity.yaml", *, now: datetime | None = None) -> dict[str, Any]:
    """A fixture with times relative to ``now`` ("-20d3h") made absolute, and its generated parts
    (``generated_pulls``, ``many_commits``) spelt out."""
    from datetime import timedelta

    from .github_server import load_fixture

    now = (now or datetime.now(timezone.utc)).replace(microsecond=0)

    def when(text: str) -> str:
        m = _RELATIVE.match(text)
        moment = now - timedelta(days=int(m.group(1)), hours=int(m.group(2) or 0))  # type: ignore[union-attr]
        return moment.isoformat().replace("+00:00", "Z")

    def walk(value: Any) -> Any:
        if isinstance(value, str) and _RELATIVE.match(value):
            return when(value)
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        return value

    data = walk(load_fixture(name))
    for repo in data.get("repos", []):
        activity = repo.get("activity") or {}
        gen = activity.pop("generated_pulls", None)
        if gen:
            start = datetime.fromisoformat(gen["from"].replace("Z", "+00:00"))
            for i in range(gen["count"]):
                merged = (start + timedelta(hours=gen["every_hours"] * i)).isoformat().replace("+00:00", "Z")
                activity.setdefault("pull_requests", []).append({
                    "number": 100 + i, "title": f"Change {i}", "author": gen["author"], "merged_at": merged,
                    "merge_commit": f"g{i}", "review_decision": "APPROVED",
                    "commits": [{"oid": f"g{i}a", "committed_at": merged}],
                    "reviews": [{"author": gen["reviewer"], "state": "APPROVED", "submitted_at": merged,
                                 "commit": f"g{i}a"}]})
        for pr in activity.get("pull_requests", []):
            n = pr.pop("many_commits", 0)
            if n:
                co_at, co = pr.pop("coauthor_at", -1), pr.pop("coauthor", None)
                pr["commits"] = [{"oid": f"big{i:03d}", "committed_at": pr["merged_at"],
                                  **({"co_authors": [co]} if i == co_at and co else {})} for i in range(n)]
    return data
