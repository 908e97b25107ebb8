"""The connectors' shape: one package per audited system, fetch → translate, imported lazily.

No import cycle between connector modules, no private name taken across a module boundary,
no module over 800 lines (the AWS policy evaluator excepted), and the pure translations
import no cloud SDK, so they run (and are tested) without one.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import foureyes
from foureyes.connectors.base import REGISTRY, connector_class

PACKAGE = Path(foureyes.__file__).resolve().parent
CONNECTORS = PACKAGE / "connectors"
SYSTEMS = ("github", "aws", "gcp", "okta", "entra", "gworkspace", "roster", "demo")
SOURCE_NAMES = {"gworkspace": "google_workspace"}  # the package is not named workspace: foureyes.workspace is


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, names) for every import in the file, deferred ones included, made absolute."""
    here = _module_name(path)
    package = here if path.name == "__init__.py" else here.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            names = [a.name for a in node.names]
            if node.module is None:  # `from . import actions`: each name is a module
                found += [(f"{target}.{n}", []) for n in names]
            else:
                found.append((target, names))
        elif isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
    return found


def _connector_modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(CONNECTORS.rglob("*.py"))}


def test_every_audited_system_is_a_package_with_a_connector_module():
    for system in SYSTEMS:
        assert (CONNECTORS / system / "__init__.py").is_file(), system
        assert (CONNECTORS / system / "connector.py").is_file(), system
    assert not [p.name for p in CONNECTORS.glob("*.py") if p.stem not in ("__init__", "base")]


def test_no_import_cycle_between_connector_modules():
    modules = _connector_modules()
    graph = {name: {target for target, _ in _imports(path) if target in modules and target != name}
             for name, path in modules.items()}
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = 1
        for nxt in sorted(graph[name]):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt):] + [nxt] if nxt in trail else [name, nxt]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[name] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


def test_no_private_name_crosses_a_module_boundary():
    crossing = []
    for name, path in _connector_modules().items():
        for target, names in _imports(path):
            if target.startswith("foureyes") and target != name:
                crossing += [f"{name} imports {target}.{n}" for n in names if n.startswith("_") and n != "__version__"]
    assert crossing == []


def test_no_connector_module_is_over_800_lines():
    """The policy evaluator, once the exception, is split too (policy_context, policy_documents,
    policy_matching, policy_conditions, policy)."""
    long = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in _connector_modules().items()}
    assert {n: c for n, c in long.items() if c > 800} == {}


def test_the_registry_names_each_connector_class():
    assert set(REGISTRY) == {SOURCE_NAMES.get(s, s) for s in SYSTEMS}
    for name in REGISTRY:
        cls = connector_class(name)
        assert cls.name == name and callable(getattr(cls, "collect"))


def test_packages_and_translations_import_no_cloud_sdk():
    """Importing a system's package, or its pure translation, costs nothing: a user without the
    Google SDK configured never imports it; only running a source imports its client."""
    pure = ["foureyes.connectors", "foureyes.connectors.github", "foureyes.connectors.aws", "foureyes.connectors.gcp",
            "foureyes.connectors.demo", "foureyes.connectors.github.translate", "foureyes.connectors.aws.translate",
            "foureyes.connectors.gcp.translate", "foureyes.connectors.okta.translate",
            "foureyes.connectors.entra.translate", "foureyes.connectors.gworkspace.translate",
            "foureyes.connectors.roster.connector"]
    code = (
        "import importlib, sys\n"
        f"for name in {pure!r}:\n"
        "    importlib.import_module(name)\n"
        "print(','.join(m for m in ('boto3', 'botocore', 'github', 'google.cloud', 'google.api_core', 'grpc', 'okta',"
        " 'msgraph', 'kiota_abstractions', 'azure', 'googleapiclient', 'aiohttp')"
        " if m in sys.modules))\n"
        "from foureyes.connectors.base import connector_class\n"
        "connector_class('gcp')\n"
        "print('google.api_core' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    loaded, gcp_loaded = result.stdout.split("\n")[:2]
    assert loaded == ""
    assert gcp_loaded == "True"  # asking for the GCP source is what imports its client
