"""What the GCP fetch side reads, as plain values: the contract between fetch and translate.

`fetch.py` fills an `Inventory`; `translate.py` reads only it, so the translation is tested
on inventories built by hand as well as against the fake Google servers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ...model import Gap, resource_key
from .iam import Condition, DenyRule, Pool

SYSTEM = "gcp"


@dataclass(frozen=True)
class Binding:
    role: str
    members: tuple[str, ...]
    condition: Condition | None = None


@dataclass
class Node:
    """An organisation, folder or project, with what could be read of its policies."""

    kind: str  # org | folder | project
    name: str  # resource name: organizations/N, folders/N, projects/ID
    id: str  # N, or the project id
    display: str = ""
    parent: str = ""  # resource name of the parent; "" for the organisation or when unknown
    number: str = ""  # project number
    labels: dict[str, str] = field(default_factory=dict)
    audited: bool = True  # in the configured scope (False: an ancestor read for inheritance)
    bindings: list[Binding] | None = None  # None: unreadable, a Gap says why
    deny: list[DenyRule] | None = None

    @property
    def key(self) -> str:
        return resource_key("gcp", self.kind, self.id)


@dataclass
class ServiceAccount:
    email: str
    project: str  # project id
    display: str = ""
    unique_id: str = ""
    disabled: bool = False
    bindings: list[Binding] | None = None
    user_managed_keys: int | None = None


@dataclass(frozen=True)
class Role:
    name: str
    title: str
    permissions: frozenset[str]
    deleted: bool = False


@dataclass
class Inventory:
    nodes: dict[str, Node] = field(default_factory=dict)  # by resource name
    service_accounts: dict[str, ServiceAccount] = field(default_factory=dict)  # by email
    project_service_accounts: dict[str, list[str] | None] = field(default_factory=dict)  # project id -> emails
    roles: dict[str, Role | None] = field(default_factory=dict)  # None: unreadable
    pools: dict[str, Pool | None] = field(default_factory=dict)  # None: unreadable
    groups: dict[str, tuple[list[str], str] | None] = field(default_factory=dict)  # email -> (members, source)
    cloud_identity: bool = False  # groups not in config were looked up in Cloud Identity
    group_errors: dict[str, str] = field(default_factory=dict)  # email -> why Cloud Identity could not expand it
    gaps: list[Gap] = field(default_factory=list)

    def node_by_number(self, number: str) -> Node | None:
        return next((n for n in self.nodes.values() if n.number == number), None)

    def node_of_project(self, project_id: str) -> Node | None:
        return self.nodes.get(f"projects/{project_id}")


def node_label(node: Node) -> str:
    """How a reader names an organisation, folder or project."""
    if node.kind == "org":
        return f"organization {node.display}" + (f" ({node.id})" if node.display != node.id and node.display != node.name else "")
    if node.kind == "folder":
        return f"folder {node.display}" + (f" ({node.id})" if node.display not in (node.id, node.name) else "")
    return f"project {node.id}"
