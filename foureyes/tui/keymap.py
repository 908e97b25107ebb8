"""Your own keys: ``keymap.toml`` next to the config file maps binding ids to keys.

    [keys]
    "app.search" = "ctrl+k"
    "conflicts.filter" = "f,ctrl+f"

$FOUREYES_KEYMAP names another file. Every id is checked (foureyes/schema.py); a mistake
is one clear message with the line and a "did you mean".
"""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Iterable

from ..config import default_config_path
from ..schema import Choice, Field, MapOf, Schema, Str, Table

KEYMAP_ENV = "FOUREYES_KEYMAP"


def keymap_path() -> Path:
    return Path(os.environ.get(KEYMAP_ENV) or default_config_path().with_name("keymap.toml"))


def binding_ids() -> set[str]:
    """Every binding id the app defines (sections, detail screens, modals, the table)."""
    # deferred: the app imports this module (a cycle at import time), and screens load when first opened
    from .app import FoureyesApp
    from .navigation import DESTINATIONS
    from .screens.campaign_new import NewCampaignScreen
    from .screens.error import ErrorScreen
    from .screens.export import ExportScreen
    from .screens.help import HelpScreen
    from .screens.path import PathScreen
    from .screens.person import PersonScreen
    from .screens.review_dialogs import CloseScreen, ConfirmScreen, ExceptionScreen, TextScreen
    from .screens.search import SearchScreen
    from .screens.snapshots import SnapshotsScreen
    from .widgets.table import RecordTable

    classes: list[type] = [FoureyesApp, RecordTable, PersonScreen, PathScreen, SearchScreen, SnapshotsScreen,
                           HelpScreen, ErrorScreen, ExportScreen, NewCampaignScreen, ConfirmScreen, TextScreen,
                           ExceptionScreen, CloseScreen]
    for d in DESTINATIONS:
        module_name, _, name = d.screen.partition(":")
        classes.append(getattr(importlib.import_module(module_name, __package__), name))
    return {b.id for cls in classes for b in _own_bindings(cls) if b.id}


def _own_bindings(cls: type) -> Iterable:
    return cls.__dict__.get("BINDINGS", [])


def keymap_schema(ids: Iterable[str]) -> Schema:
    """``[keys]``: binding id = "key,key"; an id must be one the app defines."""
    known = Choice(tuple(sorted(ids)), noun="binding id", note="the help (F1) shows each key's binding id")
    keys = MapOf(Str(nonempty=True, strip=True, expected='a key name such as "ctrl+k"'), keys=known)
    return Schema(Table({"keys": Field(keys)}, note="put bindings under [keys]"))


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The keymap file's bindings, or {} when there is none."""
    path = path or keymap_path()
    if not path.is_file():
        return {}
    return keymap_schema(binding_ids()).load(path).value["keys"]
