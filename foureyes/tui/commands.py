"""The command palette provider: every key's action plus "go: …", "snapshot: …" and the
current screen's own commands, named "category: action"."""

from __future__ import annotations

import re
from functools import partial
from typing import Any, Iterable

from textual.command import DiscoveryHit, Hit, Hits, Provider

from ..model import SEVERITIES
from .actions import APP_ACTIONS
from .navigation import DESTINATIONS
from .state import when

Command = tuple[str, Any, str]
_PLAIN = re.compile(r"^[\w.\-/ ]{1,60}$")  # names safe to show in the palette (audited text otherwise)


def palette_safe(name: str) -> str:
    """Palette entries go through Textual's markup parser: keep brackets out of them."""
    return name.replace("[", "(").replace("]", ")")


def palette_commands(app: Any, screen: Any) -> list[Command]:
    commands: list[Command] = []
    for d in DESTINATIONS:
        commands.append((f"go: {d.title.lower()}", partial(app.action_go, d.id), d.help))
    for action in getattr(screen, "ACTIONS", ()):
        commands.append((action.command, partial(screen.run_action, action.action), action.help))
    for action in APP_ACTIONS:
        commands.append((action.command, partial(app.run_action, action.action), action.help))
    commands.extend(getattr(screen, "commands", lambda: ())())
    triage = getattr(app, "triage", None)
    if triage is not None:
        commands.extend(_elsewhere(app, screen, triage))
    if triage is not None:
        for info in reversed(triage.snapshots):
            current = " (on screen)" if info.id == triage.snapshot_id else ""
            commands.append((f"snapshot: open {info.id} taken {when(info.taken_at)}{current}",
                             partial(app.open_snapshot, info.id),
                             f"{sum(s.grants for s in info.sources)} grants, {info.gap_count} gaps"))
    seen: set[str] = set()
    unique = []
    for name, callback, help_text in commands:
        name = palette_safe(name)
        if name not in seen:
            seen.add(name)
            unique.append((name, callback, palette_safe(help_text)))
    return unique


def _elsewhere(app: Any, screen: Any, triage: Any) -> Iterable[Command]:
    """Section commands offered from any screen: they open the section, then apply."""
    def in_section(mode: str, method: str, **kwargs: Any) -> Any:
        def run() -> None:
            app.action_go(mode)
            app.call_after_refresh(lambda: getattr(app.screen, method)(**kwargs))
        return run

    if getattr(screen, "DESTINATION", "") != "matrix":
        for team in triage.teams:
            if _PLAIN.match(team):
                yield (f"matrix: team {team}", in_section("matrix", "set_scope", team=team),
                       "Only members of this team")
        for name in triage.apps:
            if _PLAIN.match(name):
                yield (f"matrix: app {name}", in_section("matrix", "set_scope", app_name=name),
                       "Only capabilities on this app")
    if getattr(screen, "DESTINATION", "") != "conflicts":
        for severity in reversed(SEVERITIES):
            yield (f"conflicts: only {severity}",
                   in_section("conflicts", "set_filter_text", text=f"severity:{severity}"),
                   f"Show {severity} findings")


class FoureyesCommands(Provider):
    """foureyes commands for the command palette (ctrl+p)."""

    def _commands(self) -> Iterable[Command]:
        return palette_commands(self.app, self.screen)

    async def discover(self) -> Hits:
        for name, callback, help_text in self._commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self._commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, text=name, help=help_text)
