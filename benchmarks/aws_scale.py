"""AWS snapshot at scale: requests against the lower bound, and how fast policies are evaluated.

Runs the real AwsConnector (boto3 over HTTP) against moto's server, in a process of its own,
serving a synthetic AWS organisation: 300 accounts at scale 1.0 (the benchmark enterprise's,
`generate.py`), each with the audit role, 10 IAM groups, 40 users (10 people with an email
tag, 30 machine users with access keys), 30 roles (trusting the account, a user, GitHub
Actions OIDC, a service or the management account) and the policies they hold: customer
managed copies of the 17 AWS managed policies of tests/fixtures/aws_managed_policies (MIT,
iam-dataset by Ian Mckay; ReadOnlyAccess and SecurityAudit among them) and small deploy,
artifact and assume-role policies, attached and inline; some roles have a permissions
boundary. Organizations: OUs Workloads/{Prod, Staging, Dev} and Sandbox, three SCPs. IAM
Identity Center: 8 permission sets, 300 users, 20 groups, assignments in prod and staging
accounts, the AWSReservedSSO roles present where assigned.

The organisation and Identity Center are created through boto3 over HTTP; the IAM contents of
each account through moto's backend in the server's process (boto3 would take ~15 minutes
for the 150,000 calls). The connector reads everything over HTTP, as an auditor would.

What is measured (benchmarks/README.md, "AWS snapshot", says the same):

- *requests* are what the server received (retries included), by operation, against
  `lower_bound`: each list read at its largest page (ListAccounts 20, GetAccountAuthorization-
  Details 1,000 items, the others 100). Counted: GetCallerIdentity; AssumeRole per member
  account; DescribeOrganization, ListRoots, ListAccounts; per account its tags and its
  parents up to the root (ListParents, one per level), each OU's name once, the SCPs of each
  target once and each SCP's document once; per account GetAccountAuthorizationDetails, per
  IAM user ListAccessKeys and per key GetAccessKeyLastUsed; Identity Center's instance, users,
  groups, each group's members, permission sets and each one described, and the account
  assignments of each (account, permission set) pair that has any. The connector asks every
  pair (moto cannot say where a permission set is provisioned: it answers with the caller's
  account whatever the target), which is the difference reported against the bound.
- *evaluation*: the translation, from the connector's "deciding capabilities" to the end
  (wall and CPU time, and how many policy evaluations it made), and the rate of policy
  evaluations on one core (CPU time, the best of three replays): a sample of the evaluations
  the snapshot made, replayed once through fresh `PolicySet`s of freshly parsed policies, compiled for the actions asked of each
  beforehand (that time reported apart; nothing the snapshot or an earlier pass decided is
  reused), and through `evaluate` with parsed policies (the connector's way before) and with
  the documents as dicts (uncompiled).

`python benchmarks/aws_scale.py --scale S [--json]`; `benchmarks/run.py` runs it.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import math
import os
import random
import re
import resource
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parent.parent
for path in (str(ROOT), str(ROOT / "tests")):
    if path not in sys.path:
        sys.path.insert(0, path)

import serverproc  # noqa: E402
from run import Row, fmt_s  # noqa: E402

FULL_ACCOUNTS = 300
GROUPS, USERS, PEOPLE, ROLES = 10, 40, 10, 30  # per account, as generate.py's enterprise
SSO_USERS, SSO_GROUPS, PERMISSION_SETS = 300, 20, 8
MANAGEMENT = "123456789012"  # moto's default account: the organization's management account
REGION = "us-east-1"
AUDIT_ROLE = "foureyes-audit"
GITHUB = "token.actions.githubusercontent.com"
MANAGED = json.loads((ROOT / "tests/fixtures/aws_managed_policies/policies.json").read_text(encoding="utf-8"))
TARGET_RATE = 100_000
SAMPLE = 20_000  # evaluations replayed for the rate


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def accounts_at(scale: float) -> int:
    return max(3, round(FULL_ACCOUNTS * scale))


# ---------------------------------------------------------------- the organisation (in the server process)


def _custom_policies(account: str) -> dict[str, str]:
    return {
        "deploy-ecs": doc(allow(["ecs:UpdateService", "ecs:DescribeServices", "ecs:RegisterTaskDefinition"])),
        "deploy-lambda": doc(allow(["lambda:UpdateFunctionCode", "lambda:GetFunction"],
                                   f"arn:aws:lambda:*:{account}:function:api-*")),
        "artifacts": doc(allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::acme-deploy-*/*")),
        "assume-deploy": doc(allow("sts:AssumeRole", f"arn:aws:iam::{account}:role/deploy-*")),
        "pass-role": doc(allow("iam:PassRole", f"arn:aws:iam::{account}:role/*",
                               Condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}})),
        "self-service": doc(allow(["iam:ChangePassword", "iam:CreateAccessKey", "iam:DeleteAccessKey"],
                                  f"arn:aws:iam::{account}:user/${{aws:username}}")),
        "logs": doc(allow(["logs:Get*", "logs:Describe*", "logs:FilterLogEvents"])),
        "boundary": doc(allow(["ecs:*", "lambda:*", "s3:*", "logs:*", "cloudwatch:*"]),
                        {"Effect": "Deny", "Action": ["iam:*", "organizations:*"], "Resource": "*"}),
    }


def _fill_account(account: str, index: int, rng: random.Random) -> dict[str, int]:
    """IAM users, groups, roles and policies of one account, through moto's backend (in process)."""
    from moto.iam.models import iam_backends

    iam = iam_backends[account]["aws"]
    iam.create_role(AUDIT_ROLE, doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
                                     "Action": "sts:AssumeRole"}), "/", None, "", [], None)
    iam.put_role_policy(AUDIT_ROLE, "read", doc(allow(["iam:Get*", "iam:List*"])))
    arns: list[str] = []
    for name, document in [*((f"acme-{n}", json.dumps(m["document"])) for n, m in MANAGED.items()),
                           *_custom_policies(account).items()]:
        arns.append(iam.create_policy("", "/", document, name, []).arn)
    boundary = next(a for a in arns if a.endswith("/boundary"))
    pool = [a for a in arns if a != boundary]
    groups = [f"grp{j}" for j in range(GROUPS)]
    for j, group in enumerate(groups):
        iam.create_group(group)
        for k in range(3):
            iam.attach_group_policy(pool[(index + j * 3 + k) % len(pool)], group)
    keys = 0
    for j in range(USERS):
        person = j < PEOPLE
        name = f"person{(index * PEOPLE + j) % 20000:05d}" if person else f"svc-{j}"
        iam.create_user(REGION, name, tags=[{"Key": "email", "Value": f"{name}@acme.example"}] if person else None)
        for group in rng.sample(groups, 1 + (j % 2)):
            iam.add_user_to_group(group, name)
        if j % 4 == 0:
            iam.put_user_policy(name, "inline", _custom_policies(account)["assume-deploy"])
        if not person:
            for _ in range(2 if j % 6 == 0 else 1):
                iam.create_access_key(name)
                keys += 1
    trusts = [
        lambda j: {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"},
        lambda j: {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:user/svc-{10 + j % 30}"},
                   "Action": "sts:AssumeRole"},
        lambda j: {"Effect": "Allow", "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{GITHUB}"},
                   "Action": "sts:AssumeRoleWithWebIdentity",
                   "Condition": {"StringEquals": {f"{GITHUB}:aud": "sts.amazonaws.com"},
                                 "StringLike": {f"{GITHUB}:sub": f"repo:acme/repo-{j:04d}:*"}}},
        lambda j: {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"},
        lambda j: {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
                   "Action": "sts:AssumeRole"},
    ]
    for j in range(ROLES):
        name = f"deploy-{j}" if j < 10 else f"role-{j}"
        bounded = j % 7 == 3
        iam.create_role(name, doc(trusts[j % len(trusts)](j)), "/", boundary if bounded else None, "", [], None)
        for k in range(2 + j % 4):
            iam.attach_role_policy(pool[(index * 7 + j * 5 + k) % len(pool)], name)
        if j % 3 == 0:
            iam.put_role_policy(name, "inline", _custom_policies(account)["pass-role"])
    return {"users": USERS, "keys": keys, "groups": GROUPS, "roles": ROLES + 1, "policies": len(arns)}


def build(url: str, scale: float) -> dict[str, Any]:
    """The organisation; returns what the lower bound needs."""
    import boto3

    rng = random.Random(19)

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=url, region_name=REGION, aws_access_key_id="testing",
                            aws_secret_access_key="testing")

    org = client("organizations")
    org.create_organization(FeatureSet="ALL")
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    ous = {name: org.create_organizational_unit(ParentId=workloads, Name=name)["OrganizationalUnit"]["Id"]
           for name in ("Prod", "Staging", "Dev")}
    ous["Sandbox"] = org.create_organizational_unit(ParentId=root, Name="Sandbox")["OrganizationalUnit"]["Id"]
    depth = {"Prod": 3, "Staging": 3, "Dev": 3, "Sandbox": 2}  # parents of an account up to the root

    def scp(name: str, content: str, target: str) -> None:
        made = org.create_policy(Name=name, Description=name, Type="SERVICE_CONTROL_POLICY", Content=content)
        org.attach_policy(PolicyId=made["Policy"]["PolicySummary"]["Id"], TargetId=target)

    scp("deny-leave", doc({"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}), root)
    scp("prod-regions", doc({"Effect": "Deny", "NotAction": ["iam:*", "sts:*", "organizations:*"], "Resource": "*",
                             "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}}),
        ous["Prod"])
    scp("sandbox-no-iam", doc({"Effect": "Deny", "Action": "iam:*", "Resource": "*"}), ous["Sandbox"])
    count = accounts_at(scale)
    accounts: list[tuple[str, str]] = []
    for i in range(count - 1):  # the management account is the count's last
        ou = "Prod" if i < count // 10 else "Staging" if i < count // 3 else "Sandbox" if i % 10 == 9 else "Dev"
        made = org.create_account(Email=f"acct{i}@acme.example", AccountName=f"acme-{i:03d}",
                                  Tags=[{"Key": "env", "Value": ou.lower()}])
        account = made["CreateAccountStatus"]["AccountId"]
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=ous[ou])
        accounts.append((account, ou))
    iam_counts = [_fill_account(a, i, rng) for i, (a, _) in enumerate(accounts)]
    management_counts = _fill_account(MANAGEMENT, len(accounts), rng)

    # IAM Identity Center in the management account
    sso, store = client("sso-admin"), client("identitystore")
    instance = sso.list_instances()["Instances"][0]
    ia, store_id = instance["InstanceArn"], instance["IdentityStoreId"]
    users = [store.create_user(IdentityStoreId=store_id, UserName=f"person{i:05d}", DisplayName=f"Person {i}",
                               Name={"GivenName": "Person", "FamilyName": str(i)},
                               Emails=[{"Value": f"person{i:05d}@acme.example", "Type": "work", "Primary": True}]
                               )["UserId"] for i in range(SSO_USERS)]
    groups = []
    for g in range(SSO_GROUPS):
        group = store.create_group(IdentityStoreId=store_id, DisplayName=f"team-{g}")["GroupId"]
        for user in users[g::SSO_GROUPS]:
            store.create_group_membership(IdentityStoreId=store_id, GroupId=group, MemberId={"UserId": user})
        groups.append(group)
    sets = []
    for p in range(PERMISSION_SETS):
        arn = sso.create_permission_set(InstanceArn=ia, Name=f"Set{p}")["PermissionSet"]["PermissionSetArn"]
        sso.put_inline_policy_to_permission_set(InstanceArn=ia, PermissionSetArn=arn,
                                                InlinePolicy=_custom_policies("*")["deploy-ecs" if p % 2 else "logs"])
        sets.append((arn, f"Set{p}"))
    from moto.iam.models import iam_backends

    pairs = 0
    for i, (account, ou) in enumerate(accounts):
        if ou not in ("Prod", "Staging"):
            continue
        for p in ((i % PERMISSION_SETS), ((i + 3) % PERMISSION_SETS)):
            arn, name = sets[p]
            sso.create_account_assignment(InstanceArn=ia, TargetId=account, TargetType="AWS_ACCOUNT",
                                          PermissionSetArn=arn, PrincipalType="GROUP",
                                          PrincipalId=groups[(i + p) % SSO_GROUPS])
            iam_backends[account]["aws"].create_role(  # what provisioning leaves in the account
                f"AWSReservedSSO_{name}_{i:016x}", doc({"Effect": "Allow", "Principal": {
                    "Federated": f"arn:aws:iam::{account}:saml-provider/AWSSSO_0123abcd_DO_NOT_DELETE"},
                    "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}),
                "/aws-reserved/sso.amazonaws.com/", None, "", [], None)
            iam_backends[account]["aws"].put_role_policy(f"AWSReservedSSO_{name}_{i:016x}", "AwsSSOInlinePolicy",
                                                         _custom_policies(account)["deploy-ecs" if p % 2 else "logs"])
            pairs += 1
    chains = {"Prod": ("Workloads", "Prod"), "Staging": ("Workloads", "Staging"), "Dev": ("Workloads", "Dev"),
              "Sandbox": ("Sandbox",)}
    reached = {name for _, ou in accounts for name in chains[ou]}
    scps = 2 + ("Prod" in reached) + ("Sandbox" in reached)  # FullAWSAccess (moto attaches it everywhere), deny-leave
    return {"accounts": [a for a, _ in accounts] + [MANAGEMENT], "depth": [depth[ou] for _, ou in accounts],
            "ous": len(reached), "scps": scps, "iam": iam_counts + [management_counts], "sso_users": SSO_USERS,
            "sso_groups": SSO_GROUPS, "permission_sets": PERMISSION_SETS, "assigned_pairs": pairs}


# ---------------------------------------------------------------- counting what moto's server receives


def _operation(environ: dict[str, Any], body: bytes) -> tuple[str, str]:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", auth)
    service = m.group(1) if m else "?"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return service, target.rsplit(".", 1)[-1]
    action = parse_qs(body.decode("utf-8", "replace")).get("Action", [""])[0]
    return service, action or environ.get("PATH_INFO", "")


class Counting:
    """WSGI middleware: every request's service and operation, counted."""

    def __init__(self, app: Any):
        self.app = app
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if not environ.get("PATH_INFO", "").startswith("/moto-api"):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(body)
            service, operation = _operation(environ, body)
            with self.lock:
                key = f"{service}:{operation}"
                self.counts[key] = self.counts.get(key, 0) + 1
        return self.app(environ, start_response)


def _serve(scale: float, conn: Any) -> None:
    for p in (str(ROOT), str(ROOT / "tests")):
        if p not in sys.path:
            sys.path.insert(0, p)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    class Quiet(MotoRequestHandler):
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    counting = Counting(DomainDispatcherApplication(create_backend_app))
    server = make_server("127.0.0.1", 0, counting, True, request_handler=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    started = time.perf_counter()
    summary = build(url, scale)
    summary["build_s"] = time.perf_counter() - started
    conn.send((url, summary))
    cpu = time.process_time()
    while True:
        command = conn.recv()
        if command == "reset":
            with counting.lock:
                counting.counts.clear()
            cpu = time.process_time()
            conn.send(None)
        elif command == "stats":
            with counting.lock:
                conn.send({"counts": dict(counting.counts), "cpu_s": time.process_time() - cpu})
        else:
            server.shutdown()
            conn.send(None)
            return


class ServerProcess(serverproc.ServerProcess):
    def __init__(self, scale: float):
        super().__init__(_serve, scale)
        self.url, self.summary = self.hello


# ---------------------------------------------------------------- the lower bound


KINDS = {  # operation -> kind of request, for the per-kind comparison
    "sts:GetCallerIdentity": "sts", "sts:AssumeRole": "sts",
    "iam:GetAccountAuthorizationDetails": "iam authorization details", "iam:ListAccessKeys": "access keys",
    "iam:GetAccessKeyLastUsed": "access keys", "iam:GetPolicy": "iam policies", "iam:GetPolicyVersion": "iam policies",
    "sso:ListAccountAssignments": "sso assignments",
}


def kind_of(operation: str) -> str:
    if operation in KINDS:
        return KINDS[operation]
    service = operation.split(":", 1)[0]
    return {"organizations": "organizations", "sso": "sso", "identitystore": "sso", "iam": "iam other"}.get(
        service, service)


def _pages(items: int, per_page: int = 100) -> int:
    return max(1, math.ceil(items / per_page))


def lower_bound(summary: dict[str, Any]) -> dict[str, int]:
    accounts = summary["accounts"]
    n = len(accounts)
    bound = {"sts": 1 + (n - 1), "organizations": 3 + _pages(n, 20) - 1, "iam authorization details": 0,
             "access keys": 0, "sso": 0, "sso assignments": summary["assigned_pairs"]}
    # per account: its tags and its chain of parents (the management account sits under the root);
    # each OU reached: its name once; each target (the root, those OUs, each member account): its
    # SCPs once; each SCP: its document once
    bound["organizations"] += n + sum(summary["depth"]) + 1 + summary["ous"] + (1 + summary["ous"] + n - 1) \
        + summary["scps"]
    for counts in summary["iam"]:
        items = counts["users"] + counts["groups"] + counts["roles"] + counts["policies"]
        bound["iam authorization details"] += _pages(items, 1000)
        bound["access keys"] += counts["users"] + counts["keys"]
    groups = summary["sso_groups"]
    bound["sso"] = 1 + _pages(summary["sso_users"]) + _pages(groups) + groups * _pages(summary["sso_users"] // groups) \
        + _pages(summary["permission_sets"]) + summary["permission_sets"]
    return bound


# ---------------------------------------------------------------- one run


@dataclass
class Run:
    scale: float
    accounts: int
    wall_s: float
    fetch_s: float
    eval_wall_s: float
    eval_cpu_s: float
    evaluations: int
    requests: int
    by_kind: dict[str, int]
    bound: dict[str, int]
    principals: int
    grants: int
    gaps: int
    build_s: float
    server_cpu_s: float
    rates: dict[str, float] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    operations: dict[str, int] = field(default_factory=dict)  # requests by service:operation
    peak_mib: float = 0.0  # the benchmark process's peak RSS when the snapshot was done

    @property
    def lower_bound(self) -> int:
        return sum(self.bound.values())


class Recorder:
    """Counts `PolicySet.evaluate` calls and keeps a sample of them to replay (measurement only)."""

    def __init__(self, sample: int = SAMPLE):
        from foureyes.connectors.aws import policy

        self.policy = policy
        self.original = policy.PolicySet.evaluate
        self.calls = 0
        self.sample: list[tuple[Any, str, str, dict[str, Any]]] = []
        self.limit = sample
        self.lock = threading.Lock()
        recorder = self

        def evaluate(self: Any, action: str, resource: str, **kwargs: Any) -> Any:
            with recorder.lock:
                recorder.calls += 1
                if len(recorder.sample) < recorder.limit and recorder.calls % 3 == 0:
                    recorder.sample.append((self, action, resource, kwargs))
            return recorder.original(self, action, resource, **kwargs)

        policy.PolicySet.evaluate = evaluate  # type: ignore[method-assign]

    def close(self) -> None:
        self.policy.PolicySet.evaluate = self.original  # type: ignore[method-assign]


def rates(sample: list[tuple[Any, str, str, dict[str, Any]]], repeat: int = 3) -> dict[str, float]:
    """`replay` ``repeat`` times; the best of each rate (the machine is shared: a pass can be slowed
    two-fold by work beside it), with the spread of the compiled one."""
    runs = []
    for _ in range(repeat):
        runs.append(replay(sample))
        gc.collect()  # a replay's policies and plans refer to each other: free them before the next
    best = {k: max(r[k] for r in runs) for k in ("compiled", "uncompiled", "uncompiled, dicts")}
    return {**runs[0], **best, "compiled, worst": min(r["compiled"] for r in runs), "repeat": repeat}


def replay(sample: list[tuple[Any, str, str, dict[str, Any]]]) -> dict[str, float]:
    """Evaluations per second of CPU time, each pass over requests it has not answered before:
    compiled (fresh `PolicySet`s of fresh policies, compiled for the actions asked of each first,
    that time apart), uncompiled (`evaluate` with parsed policies, the second pass: their statements'
    action cache warm, as the connector had it) and uncompiled with the documents as dicts."""
    from foureyes.connectors.aws.policy import Policy, PolicySet, evaluate

    copies: dict[int, Policy] = {}

    def fresh(policy: Policy | None) -> Policy | None:
        """A new parse of ``policy``, once per policy: principals share policies as in the connector."""
        if policy is None:
            return None
        found = copies.get(id(policy))
        if found is None:
            found = copies[id(policy)] = Policy(policy.document, name=policy.name, source=policy.source)
        return found

    asked: dict[int, set[str]] = {}
    for ps, action, _, _ in sample:
        asked.setdefault(id(ps), set()).add(action)
    started = time.process_time()
    sets: dict[int, PolicySet] = {}
    for ps, _, _, _ in sample:
        if id(ps) not in sets:
            sets[id(ps)] = PolicySet([fresh(p) for p in ps.identity], fresh(ps.boundary),
                                     [[fresh(p) for p in level] for level in ps.scps]).compile(sorted(asked[id(ps)]))
    compile_s = time.process_time() - started
    started = time.process_time()
    for ps, action, resource, kwargs in sample:
        sets[id(ps)].evaluate(action, resource, **kwargs)
    compiled = len(sample) / max(1e-9, time.process_time() - started)
    copies.clear()  # the uncompiled pass parses its own copies (shared the same way)
    parsed = {id(ps): ([fresh(p) for p in ps.identity], fresh(ps.boundary),
                       [[fresh(p) for p in level] for level in ps.scps]) for ps, _, _, _ in sample}

    def uncompiled() -> float:
        began = time.process_time()
        for ps, action, resource, kwargs in sample:
            identity, boundary, scps = parsed[id(ps)]
            evaluate(action, resource, identity_policies=identity, boundary=boundary, scps=scps, **kwargs)
        return len(sample) / max(1e-9, time.process_time() - began)

    uncompiled()
    warm = uncompiled()
    part = sample[: max(1, len(sample) // 10)]
    started = time.process_time()
    for ps, action, resource, kwargs in part:
        evaluate(action, resource, identity_policies=[p.document for p in ps.identity],
                 boundary=ps.boundary.document if ps.boundary else None,
                 scps=[[p.document for p in level] for level in ps.scps], **kwargs)
    dicts = len(part) / max(1e-9, time.process_time() - started)
    return {"compiled": compiled, "compile_s": compile_s, "sets": len(sets), "uncompiled": warm,
            "uncompiled, dicts": dicts}


def measure(scale: float) -> Run:
    from foureyes.config import parse_config
    from foureyes.connectors.aws.connector import AwsConnector

    os.environ.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": REGION})
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(key, None)
    with ServerProcess(scale) as server:
        config = parse_config(f'[sources.aws]\nregion = "{REGION}"\nendpoint_url = "{server.url}"\n'
                              f'organization = true\nassume_role_name = "{AUDIT_ROLE}"\n'
                              'deploy_buckets = ["acme-deploy-*"]\n', "<benchmark config>")
        server.call("reset")
        marks: dict[str, float] = {}

        def progress(event: Any) -> None:
            if event.message == "deciding capabilities":
                marks["decide"], marks["decide_cpu"] = time.perf_counter(), time.process_time()

        recorder = Recorder()
        try:
            started = time.perf_counter()
            result = AwsConnector(config.sources.aws, config=config).collect(progress)
            ended, ended_cpu = time.perf_counter(), time.process_time()
            peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        finally:
            recorder.close()
        seen = server.call("stats")
        summary = server.summary
    by_kind: dict[str, int] = {}
    for operation, count in seen["counts"].items():
        by_kind[kind_of(operation)] = by_kind.get(kind_of(operation), 0) + count
    return Run(scale=scale, accounts=len(summary["accounts"]), wall_s=ended - started,
               fetch_s=marks.get("decide", ended) - started, eval_wall_s=ended - marks.get("decide", ended),
               eval_cpu_s=ended_cpu - marks.get("decide_cpu", ended_cpu), evaluations=recorder.calls,
               requests=sum(seen["counts"].values()), by_kind=by_kind, bound=lower_bound(summary),
               principals=len(result.principals), grants=len(result.grants), gaps=len(result.gaps),
               build_s=summary["build_s"], server_cpu_s=seen["cpu_s"], rates=rates(recorder.sample),
               stats=dict(result.stats), operations=dict(seen["counts"]), peak_mib=peak_mib)


# ---------------------------------------------------------------- report


def rows_for(run: Run) -> list[Row]:
    full = run.scale >= 1.0
    excess = ", ".join(f"{k} {run.by_kind.get(k, 0):,}/{b:,}" for k, b in sorted(run.bound.items())
                       if run.by_kind.get(k, 0) != b)
    other = {k: v for k, v in run.by_kind.items() if k not in run.bound}
    ratio = run.requests / run.lower_bound
    compiled = run.rates["compiled"]
    return [
        Row("aws: synthetic organisation", f"{run.accounts:,} accounts", "", None,
            f"{run.principals:,} principals, {run.grants:,} grants, {run.gaps} gaps; built in {fmt_s(run.build_s)}"),
        Row("aws: requests vs lower bound", f"{run.requests:,} / {run.lower_bound:,} = {ratio:.2f}×", "", None,
            "per kind, made/bound: " + (excess or "all kinds at the bound")
            + (f"; not in the bound: {other}" if other else "") + f"; {run.stats.get('retries', 0)} retries"),
        Row("aws: snapshot wall time", fmt_s(run.wall_s), "", None,
            f"reading {fmt_s(run.fetch_s)} (moto's server CPU {fmt_s(run.server_cpu_s)}), then deciding "
            f"capabilities {fmt_s(run.eval_wall_s)} ({fmt_s(run.eval_cpu_s)} CPU) with {run.evaluations:,} policy "
            f"evaluations; peak RSS {run.peak_mib:,.0f} MiB (the connector, its result and the sample kept to replay)"),
        Row("aws: policy evaluations per second, one core, compiled", f"{compiled:,.0f}",
            f"≥ {TARGET_RATE:,}" if full else f"(≥ {TARGET_RATE:,} at full size)", compiled >= TARGET_RATE if full else None,
            f"best of {run.rates['repeat']:.0f} replays (worst {run.rates['compiled, worst']:,.0f}/s); "
            f"CPU time over {min(SAMPLE, run.evaluations // 3):,} evaluations the snapshot made, replayed on "
            f"{run.rates['sets']:,.0f} fresh PolicySets (compiling them for the actions asked took "
            f"{fmt_s(run.rates['compile_s'])}); uncompiled, as before (evaluate with parsed policies): "
            f"{run.rates['uncompiled']:,.0f}/s, with dicts {run.rates['uncompiled, dicts']:,.0f}/s"),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--json", action="store_true", help="print the rows as JSON on the last line")
    args = parser.parse_args(argv)
    rows = rows_for(measure(args.scale))
    if args.json:
        print(json.dumps([asdict(r) for r in rows]))
    else:
        from run import table

        print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
