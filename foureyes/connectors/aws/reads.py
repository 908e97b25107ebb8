"""What the AWS fetch side reads, as boto3 returns it: the contract between fetch and translate.

`fetch.py` fills `AccountRead` and `SsoRead` with API payloads; the translation reads only
these, so it is tested on recorded payloads as well as against moto.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from ...model import Gap, resource_key

SYSTEM = "aws"
SSO_ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
SERVICE_ROLE_PATH = "/aws-service-role/"
SSO_ROLE_NAME = re.compile(r"^AWSReservedSSO_(?P<ps>.+)_[0-9a-f]{16}$")


def sso_role_permission_set(role_name: str) -> str:
    """``ProdDeployer`` for ``AWSReservedSSO_ProdDeployer_0123456789abcdef``, else ""."""
    m = SSO_ROLE_NAME.match(role_name)
    return m.group("ps") if m else ""


@dataclass
class AccountRead:
    """One account as read: organization facts, the IAM snapshot, usage, SCPs, and what failed."""

    id: str
    name: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    ou_path: str = ""  # "/r-ab12/ou-ab12-11111111/ou-ab12-22222222"
    ou_names: str = ""  # "/Root/Workloads/Prod"
    management: bool = False
    organization_id: str = ""
    scps: list[list[tuple[str, str, Any]]] | None = None  # per level (root → account): (id, name, document)
    scp_levels: list[str] = field(default_factory=list)  # readable name per level
    iam: dict[str, list[Any]] | None = None  # GetAccountAuthorizationDetails pages merged; None: unread
    extra_policies: dict[str, tuple[str, Any]] = field(default_factory=dict)  # arn -> (name, document)
    access_keys: dict[str, list[dict[str, Any]]] | None = None  # user name -> keys with last use
    gaps: list[Gap] = field(default_factory=list)

    @property
    def key(self) -> str:
        return resource_key(SYSTEM, "account", self.id)


@dataclass
class PermissionSetRead:
    arn: str
    name: str
    description: str = ""
    managed: list[str] = field(default_factory=list)  # managed policy ARNs
    customer: list[tuple[str, str]] = field(default_factory=list)  # (name, path) references
    inline: Any = None  # inline policy document (JSON text) or None
    boundary: dict[str, Any] | None = None  # as GetPermissionsBoundaryForPermissionSet returns it
    definition_read: bool = False  # managed/customer/inline/boundary were read


@dataclass
class SsoRead:
    """IAM Identity Center: one instance, its identity store and its assignments."""

    instance_arn: str
    store_id: str
    users: list[dict[str, Any]] = field(default_factory=list)
    groups: list[dict[str, Any]] = field(default_factory=list)
    memberships: list[tuple[str, str]] = field(default_factory=list)  # (group id, user id)
    permission_sets: dict[str, PermissionSetRead] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)  # AccountId, PermissionSetArn, PrincipalType, PrincipalId
    aws_managed: dict[str, tuple[str, Any]] = field(default_factory=dict)  # arn -> (name, doc), read globally
    gaps: list[Gap] = field(default_factory=list)

