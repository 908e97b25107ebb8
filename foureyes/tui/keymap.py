"""Your own keys: ``keymap.toml`` next to the config file maps binding ids to keys.

    [keys]
    "app.search" = "ctrl+k"
    "conflicts.filter" = "f,ctrl+f"

$FOUREYES_KEYMAP names another file. Every id is checked; a mistake is one clear message.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import Iterable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from ..config import default_config_path
from ..errors import InputError

KEYMAP_ENV = "FOUREYES_KEYMAP"


def keymap_path() -> Path:
    return Path(os.environ.get(KEYMAP_ENV) or default_config_path().with_name("keymap.toml"))


def binding_ids() -> set[str]:
    """Every binding id the app defines (sections, detail screens, modals, the table)."""
    # deferred: the app imports this module (a cycle at import time), and screens load when first opened
    from .app import FoureyesApp
    from .navigation import DESTINATIONS
    from .screens.error import ErrorScreen
    from .screens.help import HelpScreen
    from .screens.path import PathScreen
    from .screens.person import PersonScreen
    from .screens.search import SearchScreen
    from .screens.snapshots import SnapshotsScreen
    from .widgets.table import RecordTable

    classes: list[type] = [FoureyesApp, RecordTable, PersonScreen, PathScreen, SearchScreen, SnapshotsScreen,
                           HelpScreen, ErrorScreen]
    for d in DESTINATIONS:
        module_name, _, name = d.screen.partition(":")
        classes.append(getattr(importlib.import_module(module_name, __package__), name))
    return {b.id for cls in classes for b in _own_bindings(cls) if b.id}


def _own_bindings(cls: type) -> Iterable:
    return cls.__dict__.get("BINDINGS", [])


def load_keymap(path: Path | None = None) -> dict[str, str]:
    """The keymap file's bindings, or {} when there is none."""
    path = path or keymap_path()
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a valid keymap: {exc}") from None
    unknown = set(data) - {"keys"}
    if unknown:
        raise InputError(f"{path}: unknown top-level key {sorted(unknown)[0]!r}; put bindings under [keys]")
    keys = data.get("keys", {})
    if not isinstance(keys, dict):
        raise InputError(f"{path}: [keys] must be a table of binding id = \"keys\"")
    known = binding_ids()
    for binding_id, value in keys.items():
        if binding_id not in known:
            raise InputError(f"{path}: [keys] {binding_id!r} is not a binding id; F1 lists every id")
        if not isinstance(value, str) or not value.strip():
            raise InputError(f"{path}: [keys] {binding_id!r} must be a key name such as \"ctrl+k\"")
    return {k: v.strip() for k, v in keys.items()}
