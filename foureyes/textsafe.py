"""Neutralising text that comes from audited systems, for every place text leaves foureyes.

Names, descriptions, policy text and error messages are untrusted: they may hold ANSI
escapes, Rich markup, bidi overrides, NULs, spreadsheet formulas, Markdown (backticks,
``@org/team`` mentions, images) or HTML. Each output format has its neutraliser here: a
terminal line, CSV cells, JSON, Markdown, Jira wiki markup (HTML is escaped by Jinja with
`safe_multiline` first). The CLI writes only through `foureyes.cli.output`, which uses them.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

# C0 controls (tab and newline included: a name is one line), DEL, C1 controls.
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Invisible formatting that can reorder or hide text on screen (Trojan Source).
_BIDI = re.compile(r"[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# What json.dumps(ensure_ascii=False) leaves raw that a terminal would act on: DEL, C1, bidi.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff]")
# In a CSV cell a newline or a tab is data (the csv module quotes it); other controls are not.
_CSV_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")

CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def safe_text(value: object, *, limit: int | None = None) -> str:
    """One visible line: control and bidi characters become ``\\xNN``/``\\uNNNN`` escapes.

    The text keeps every other character, so nothing is lost; with ``limit`` it is cut to
    that many characters with an ellipsis (for table cells only).
    """
    text = "" if value is None else str(value)
    if not text.isprintable():  # (printable text holds no control (Cc) or format (Cf) character: no bidi)
        text = _CONTROL.sub(_visible, text)
        text = _BIDI.sub(_visible, text)
    if limit is not None and len(text) > limit:
        text = text[: max(limit - 1, 0)] + "…"
    return text


def safe_multiline(value: object) -> str:
    """Like `safe_text` but keeps newlines (for rationale and policy text panes)."""
    text = "" if value is None else str(value)
    return "\n".join(safe_text(line) for line in text.split("\n"))


def csv_cell(value: object) -> str:
    """A spreadsheet-safe cell: formula triggers get a leading apostrophe; control characters
    other than newline and tab, and bidi overrides, become visible escapes.

    Newlines are kept (the csv module quotes them); a leading tab or carriage return is a
    trigger too, so it is neutralised like ``=``.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)  # a number is data, not a formula
    text = str(value)
    if text.startswith(CSV_TRIGGERS):
        text = "'" + text
    return _BIDI.sub(_visible, _CSV_CONTROL.sub(_visible, text))


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON that keeps every value intact (a parser reads back the same strings) and that a
    terminal cannot act on: DEL, C1 controls and bidi overrides are ``\\uNNNN`` escapes too."""
    text = json.dumps(data, indent=indent, ensure_ascii=False, sort_keys=False)
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def is_printable(text: str) -> bool:
    return not (_CONTROL.search(text) or _BIDI.search(text)) and all(
        unicodedata.category(ch) != "Cn" for ch in text
    )


# ---------------------------------------------------------------- Markdown (CommonMark / GFM)

_BACKTICKS = re.compile(r"`+")


def md_literal(value: object, *, in_table: bool = False) -> str:
    """An inline code span: CommonMark renders its content verbatim (no links, HTML, images,
    emphasis or @mentions). The fence is longer than any backtick run inside, so the value
    cannot close it; control characters become visible escapes, so the value stays one line."""
    text = safe_text(value)
    if not text:
        return ""
    longest = max((len(m) for m in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    # a space inside the fence keeps a leading or trailing backtick off the fence itself
    pad = " " if text.startswith("`") or text.endswith("`") or (text.startswith(" ") and text.endswith(" ")) else ""
    if in_table:
        # GFM splits table cells on | before it parses code spans; \| keeps it in the cell
        text = text.replace("|", "\\|")
    return f"{fence}{pad}{text}{pad}{fence}"


def md_block(lines: list[str], *, info: str = "") -> str:
    """A fenced code block longer than any backtick run inside it, so nothing can close it early."""
    body = "\n".join(safe_text(line) for line in lines)
    longest = max((len(m) for m in _BACKTICKS.findall(body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{body}\n{fence}"


def md_text(value: object) -> str:
    """Our own prose (never untrusted): only control characters are made visible."""
    return safe_text(value)


# Words that are Markdown-inert as they are: letters, digits, spaces and punctuation that
# neither starts markup nor a mention, a link, an image or HTML.
_MD_PLAIN = re.compile(r"[A-Za-z0-9 .,:;/()'%+=–…·→-]*")


class MdSafe(str):
    """Markdown already neutralised (a code span, or our own words)."""


def md_value(value: object, *, in_table: bool = True) -> str:
    """Any value for a Markdown template: numbers and plain words as they are, neutralised
    Markdown as it is, anything else as a code span. Every ``{{ … }}`` of the Markdown report
    passes through this (Jinja's ``finalize``), so a value a template forgot to mark renders
    literally too."""
    if value is None:
        return ""
    if isinstance(value, MdSafe) or isinstance(value, (bool, int, float)):
        return str(value)
    text = str(value)
    if _MD_PLAIN.fullmatch(text) and not text.startswith(("-", "+", "=")):
        return text
    return md_literal(text, in_table=in_table)


# ---------------------------------------------------------------- Jira wiki markup

# every character that starts markup is escaped with a backslash
_JIRA_SPECIAL = re.compile(r"([\\{}\[\]*_+\-^~?|!#()])")


def jira_text(value: object) -> str:
    """Untrusted text for Jira's wiki renderer: one line, each markup character escaped."""
    return _JIRA_SPECIAL.sub(r"\\\1", safe_text(value))


def jira_block(lines: list[str]) -> str:
    """A {noformat} block, whose content Jira shows verbatim; a line that would close it is
    written escaped outside the block instead."""
    safe = [safe_text(line) for line in lines]
    if any("{noformat" in line.lower() for line in safe):
        return "\n".join(jira_text(line) for line in safe)
    return "{noformat}\n" + "\n".join(safe) + "\n{noformat}"


# ---------------------------------------------------------------- credentials in text

REDACTED = "«redacted»"
# Credentials whatever their owner: an Authorization header's value, a GitHub token, an AWS
# signature or credential scope, a Google access token or a JWT, a password in a URL.
_CREDENTIAL_PATTERNS = re.compile(
    r"(?i:(?<=authorization: )|(?<=authorization=))[^\s,;'\"}]{8,}"
    r"|(?i:(?<=bearer )|(?<=token ))[\w.~+/=-]{20,}"
    r"|\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"
    r"|(?<=Signature=)[0-9a-f]{64}|(?<=Credential=)[A-Z0-9]{16,}/[^\s,]*"
    r"|(?i:(?<=x-amz-security-token: )|(?<=x-amz-security-token=))[^\s,;'\"}]+"
    r"|\bya29\.[\w.-]+|\beyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]+"
    r"|(?<=://)[^/\s:@]*:[^/\s@]+(?=@)"
)


def redact_credentials(text: str) -> str:
    """``text`` without anything shaped like a credential (connectors also remove the exact
    values they hold: `foureyes.connectors.base.Secrets`)."""
    return _CREDENTIAL_PATTERNS.sub(REDACTED, text) if text else text
