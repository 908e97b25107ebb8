"""Findings as SARIF 2.1.0, in the shape GitHub code scanning reads (`check --format sarif`).

An access finding has no line of source code: each result points at the line of the config
file that makes it matter (the app's `[[apps]]` entry, the repository's line in a tier, else
the production tier), so an alert opens on something the reader can change, and moves when
the config is edited. Alerts stay the same alert from run to run through
``partialFingerprints`` (the finding's id: its rule, person and scope, not the snapshot);
every rule of the pack is declared, so an alert whose finding is gone closes. A finding
covered by an approved exception is a result with an accepted ``suppression``.

Pure: the caller gives the findings, the rules and the config file's text; nothing is read
or written here. Text from audited systems goes into JSON strings only (`json.dumps` escapes).
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Sequence

from ..serialize import path_json

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/foureyes/foureyes"
FINGERPRINT = "foureyes/finding/v1"

# GitHub's security severity: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium, 0.1 to 3.9 low.
SECURITY_SEVERITY = {"critical": "9.5", "high": "8.0", "medium": "5.5", "low": "3.0", "info": "0.1"}
LEVEL = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
KIND_TAG = {"conflict": "separation-of-duties", "posture": "posture", "roster": "joiner-mover-leaver"}


def sarif_log(findings: Sequence[Any], rules: Iterable[Any], *, version: str, config_text: str = "",
              config_uri: str = "foureyes.toml", snapshot: Mapping[str, Any] | None = None,
              describe: Any = None) -> dict[str, Any]:
    """One run of foureyes: every rule, and a result for each finding.

    ``describe(finding)`` gives the result's message (who, where, how); ``snapshot`` (id, taken_at,
    label) goes into the run's properties. ``config_uri`` is the config file as a path relative
    to the repository root the SARIF is uploaded for."""
    rule_list = list(rules)
    index = {rule.id: n for n, rule in enumerate(rule_list)}
    lines = _ConfigLines(config_text)
    results = [_result(f, index.get(f.rule.id), lines, config_uri, describe) for f in findings]
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "foureyes",
            "version": version,
            "semanticVersion": version,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(rule) for rule in rule_list],
        }},
        "automationDetails": {"id": "foureyes/check/"},
        "columnKind": "unicodeCodePoints",
        "results": results,
    }
    if snapshot:
        run["properties"] = {"snapshot": dict(snapshot)}
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _prose(text: str) -> str:
    """A rule file's wrapped lines as one paragraph."""
    return " ".join(text.split())


def _rule(rule: Any) -> dict[str, Any]:
    controls = list(rule.controls)
    rationale, remediation = _prose(rule.rationale), _prose(rule.remediation)
    help_text = (f"{rationale}\n\nWhat to do: {remediation}"
                 + (f"\n\nControls: {', '.join(controls)}" if controls else ""))
    help_markdown = (f"**Why it matters.** {rationale}\n\n**What to do.** {remediation}"
                     + (f"\n\n**Controls:** {', '.join(controls)}" if controls else "")
                     + f"\n\nfoureyes rule `{rule.id}` ({rule.kind}); `foureyes conflicts --rule {rule.id}` lists "
                       "its findings with the paths that explain them.")
    return {
        "id": rule.id,
        "name": _pascal(rule.title),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rationale or rule.title},
        "help": {"text": help_text, "markdown": help_markdown},
        "defaultConfiguration": {"level": LEVEL.get(rule.severity, "warning")},
        "properties": {
            "tags": ["security", "access", KIND_TAG.get(rule.kind, rule.kind), *controls],
            "precision": "high",
            "problem.severity": LEVEL.get(rule.severity, "warning").replace("note", "recommendation"),
            "security-severity": SECURITY_SEVERITY.get(rule.severity, "5.5"),
        },
    }


def _result(finding: Any, rule_index: int | None, lines: "_ConfigLines", uri: str, describe: Any) -> dict[str, Any]:
    line, why = lines.locate(finding.scope)
    message = describe(finding) if describe is not None else f"{finding.rule.title}: {finding.subject_label}"
    result: dict[str, Any] = {
        "ruleId": finding.rule.id,
        "level": LEVEL.get(finding.severity, "warning"),
        "message": {"text": message},
        "locations": [{
            "physicalLocation": {"artifactLocation": {"uri": uri}, "region": {"startLine": line}},
            "message": {"text": why},
        }],
        "partialFingerprints": {FINGERPRINT: finding.id},
        "properties": {
            "finding": finding.id,
            "severity": finding.severity,
            "subject": finding.subject,
            "scope": finding.scope,
            "capabilities": list(finding.capabilities),
        },
    }
    if rule_index is not None:
        result["ruleIndex"] = rule_index
    if finding.waiver is not None:
        waiver = finding.waiver
        justification = f"exception until {waiver.expires.isoformat()}: {waiver.reason}" if getattr(
            waiver, "expires", None) else str(getattr(waiver, "reason", "exception"))
        result["suppressions"] = [{"kind": "external", "status": "accepted", "justification": justification}]
    return result


class _ConfigLines:
    """Where in the config file a finding's scope is made: line numbers from the file's text."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def _find(self, pattern: str, start: int = 0) -> int | None:
        found = re.compile(pattern)
        for n in range(start, len(self.lines)):
            if found.search(self.lines[n]):
                return n + 1
        return None

    def locate(self, scope: str) -> tuple[int, str]:
        """(line, what that line is) for ``app:NAME``, ``repo:OWNER/REPO`` or anything else."""
        kind, _, name = scope.partition(":")
        if kind == "app" and name:
            for n, line in enumerate(self.lines):
                if line.strip() == "[[apps]]":
                    at = self._find(r'^\s*name\s*=\s*["\']' + re.escape(name) + r'["\']', n + 1)
                    following = self._find(r"^\s*\[", n + 1)
                    if at is not None and (following is None or at < following):
                        return at, f"app {name}: its repositories and accounts are defined here"
        if kind == "repo" and name:
            at = self._find(r'["\']' + re.escape(name) + r'["\']')
            if at is not None:
                return at, f"repository {name} is named here (its tier or app)"
        at = self._find(r"^\s*\[tiers\.production\]")
        if at is not None:
            return at, "what counts as production is defined here"
        return 1, "the foureyes configuration this snapshot was analysed with"


def describe(analysis: Any, finding: Any, *, paths: int = 4) -> str:
    """A result's message: what, whom, where, then one path per capability (at most ``paths``)."""
    where = f" ({finding.scope})" if finding.scope and finding.scope != "any" else ""
    lines = [f"{finding.rule.title}: {finding.subject_label or finding.subject}{where}."]
    shown: set[str] = set()
    for holding in finding.holdings:
        if holding.capability in shown or len(shown) >= paths:
            continue
        shown.add(holding.capability)
        steps = path_json(analysis.path(holding))
        lines.append(f"{holding.capability}: " + " → ".join(steps[1:] or steps))
    if finding.exposed:
        lines.append(f"{len(finding.exposed)} people can use it (foureyes conflicts --format json lists them).")
    lines.append(f"`foureyes conflicts --rule {finding.rule.id}` shows every path.")
    return "\n".join(lines)


def _pascal(title: str) -> str:
    words = re.findall(r"[A-Za-z0-9]+", title)
    return "".join(w[:1].upper() + w[1:] for w in words) or "Finding"
