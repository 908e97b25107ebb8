"""Acme's GCP organisation, projects and bindings, as the GCP connector would read them."""

from __future__ import annotations


from ...config import Config
from ...model import (
    ACCESS_ADMIN,
    DEPLOY_RUN,
    Edge,
    EdgeKind,
    Grant,
    Kind,
    Principal,
    Resource,
    SourceResult,
    Via,
)
from ..base import SourceBuilder
from .activity import PERIOD, gcp_activity
from .acme import DOMAIN, GCP_ORG, GCP_PROJECTS, finish


def gcp_source(stage: str, config: Config) -> SourceResult:
    after = stage == "after"
    b = SourceBuilder()
    org = b.resource(Resource("gcp", "org", GCP_ORG.split("/")[1], name=f"GCP organization {DOMAIN}"))
    prod_folder = b.resource(Resource("gcp", "folder", "1001", name="folder production", parent=org))
    nonprod_folder = b.resource(Resource("gcp", "folder", "1002", name="folder non-production", parent=org))
    projects = {}
    for project, _tier in GCP_PROJECTS.items():
        projects[project] = b.resource(Resource(
            "gcp", "project", project, name=project,
            tier=config.tier_for(system="gcp", kind="project", id=project),
            app=config.app_for(system="gcp", kind="project", id=project),
            parent=prod_folder if project.startswith("acme-prod") else nonprod_folder,
            attrs={"labels": {"env": _tier}},
        ))

    def member(kind: str, ident: str, display: str = "") -> str:
        pkind = {"user": Kind.USER, "group": Kind.GROUP, "serviceAccount": Kind.SERVICE_ACCOUNT}[kind]
        email = ident if kind == "user" else None
        attrs = {"email_source": "member"} if email else {}
        home = ""
        if kind == "serviceAccount":
            home = projects.get(ident.split("@")[1].split(".")[0], "")
        return b.principal(Principal("gcp", f"{kind}:{ident}", pkind, display_name=display or ident,
                                     email=email, home=home, attrs=attrs))

    def bind(holder: str, role: str, resource: str, caps: tuple[str, ...], perms: list[str], *,
             via: str = Via.DIRECT, detail: str = "", condition: str = "", expires: str | None = None) -> None:
        b.grant(Grant("gcp", holder, role, resource, caps, via=via, detail=detail or f"binding of {role}",
                      condition=condition, expires=expires, attrs={"actions": perms}))

    gina = member("user", "gina.garcia@acme.com", "Gina Garcia")
    bind(gina, "roles/iam.securityAdmin", projects["acme-prod-web"], (ACCESS_ADMIN,),
         ["resourcemanager.projects.setIamPolicy"], via=Via.INHERITED,
         detail=f"roles/iam.securityAdmin bound on {GCP_ORG}, inherited by acme-prod-web")
    viewers = member("group", "gcp-viewers@acme.com", "group gcp-viewers@acme.com")
    for project in projects.values():
        bind(viewers, "roles/viewer", project, (), [], via=Via.INHERITED,
             detail=f"roles/viewer bound on {GCP_ORG}, inherited")
    for email in ("sofia.silva@acme.com", "alex.adeyemi@acme.com"):
        b.edge(Edge(member("user", email), viewers, EdgeKind.MEMBER_OF, "member of group gcp-viewers@acme.com"))

    # Cloud Run deployer service account, impersonated through workload identity from CI
    sa = b.principal(Principal(
        "gcp", "serviceAccount:web-deployer@acme-prod-web.iam.gserviceaccount.com", Kind.SERVICE_ACCOUNT,
        display_name="service account web-deployer", home=projects["acme-prod-web"],
        attrs={"oidc_subjects": ["repo:acme/storefront-web:*"], "oidc_wildcard": True},
    ))
    bind(sa, "roles/run.admin", projects["acme-prod-web"], (DEPLOY_RUN,), ["run.services.update"],
         detail="roles/run.admin on acme-prod-web; actAs on the runtime service account")
    wif = "repo:acme/storefront-web:*"
    wif_key = b.principal(Principal(
        "ci", wif, Kind.WORKLOAD_PATTERN, display_name="workload identity principalSet attribute.repository/acme/storefront-web",
        attrs={"oidc_subjects": [wif], "oidc_wildcard": True,
               "member": "principalSet://iam.googleapis.com/projects/9999/locations/global/workloadIdentityPools/github/attribute.repository/acme/storefront-web"},
    ))
    b.edge(Edge(wif_key, sa, EdgeKind.CAN_ASSUME,
                "roles/iam.workloadIdentityUser on web-deployer for principalSet attribute.repository/acme/storefront-web"))

    priya = member("user", "priya.patel@acme.com", "Priya Patel")
    bind(priya, "roles/run.developer", projects["acme-prod-web"], (DEPLOY_RUN,), ["run.services.update"],
         detail="roles/run.developer on acme-prod-web, with roles/iam.serviceAccountUser on the runtime service account")
    oncall = member("group", "web-oncall@acme.com", "group web-oncall@acme.com")
    bind(oncall, "roles/run.developer", projects["acme-prod-web"], (), ["run.services.update"],
         detail="roles/run.developer without actAs on the runtime service account: cannot deploy")
    b.edge(Edge(member("user", "omar.osman@acme.io", "Omar Osman"), oncall, EdgeKind.MEMBER_OF,
                "member of group web-oncall@acme.com"))
    sam = member("user", "sam.sato@acme.com", "Sam Sato")
    bind(sam, "roles/run.admin", projects["acme-staging-web"], (DEPLOY_RUN,), ["run.services.update"],
         condition='resource.name.startsWith("projects/acme-staging-web/locations/europe-west1")',
         detail="conditional binding: europe-west1 services only")
    dkim = member("user", "dkim@acme.com", "Dae-jung Kim")
    bind(dkim, "roles/viewer", projects["acme-dev-sandbox"], (), [], detail="binding of roles/viewer")
    temp = member("user", "temp.consultant@gmail.com", "temp.consultant@gmail.com")
    bind(temp, "roles/editor", projects["acme-dev-sandbox"], (DEPLOY_RUN,), ["*"],
         expires="2027-01-31T00:00:00Z", condition='request.time < timestamp("2027-01-31T00:00:00Z")',
         detail="time-bound binding")
    if after:
        bind(priya, "roles/viewer", projects["acme-staging-web"], (), [], detail="binding of roles/viewer")
    if stage == "after":  # the quarter of history before the "after" snapshot
        gcp_activity(b)
        return finish(b, "gcp", stage, PERIOD)
    return finish(b, "gcp", stage)
