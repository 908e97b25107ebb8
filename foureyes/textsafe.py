"""Neutralising text that comes from audited systems before a terminal, CSV or HTML sees it.

Names, descriptions and policy text are untrusted: they may hold ANSI escapes, Rich
markup, bidi overrides, NULs or spreadsheet formulas. Render them literally, never run them.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls (tab and newline included: a name is one line), DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Invisible formatting that can reorder or hide text on screen (Trojan Source).
_BIDI = re.compile(r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")

CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: object, *, limit: int | None = None) -> str:
    """One visible line: control and bidi characters become ``\\xNN``/``\\uNNNN`` escapes.

    The text keeps every other character, so nothing is lost; with ``limit`` it is cut to
    that many characters with an ellipsis (for table cells only).
    """
    text = "" if value is None else str(value)
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    text = _BIDI.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def safe_multiline(value: object) -> str:
    """Like `safe_text` but keeps newlines (for rationale and policy text panes)."""
    text = "" if value is None else str(value)
    return "\n".join(safe_text(line) for line in text.split("\n"))


def csv_cell(value: object) -> str:
    """A spreadsheet-safe cell: formula triggers get a leading apostrophe, NULs are escaped.

    Newlines are kept (the csv module quotes them); a leading tab or carriage return is a
    trigger too, so it is neutralised like ``=``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)  # a number is data, not a formula
    text = str(value).replace("\x00", "\\x00")
    if text.startswith(CSV_TRIGGERS):
        return "'" + text
    return text


def is_printable(text: str) -> bool:
    return not (_CONTROL.search(text) or _BIDI.search(text)) and all(
        unicodedata.category(ch) != "Cn" for ch in text
    )
