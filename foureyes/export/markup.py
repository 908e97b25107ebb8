"""Writing untrusted text into Markdown and Jira wiki markup so that it renders literally.

Names and reasons come from audited systems: a display name such as ``[x](http://evil)``,
``<img onerror=…>``, ``@org/everyone`` or a newline must show as text, never act.
"""

from __future__ import annotations

import re

from ..textsafe import safe_text

_BACKTICKS = re.compile(r"`+")


def md_literal(value: object, *, in_table: bool = False) -> str:
    """An inline code span: CommonMark renders its content verbatim (no links, HTML, emphasis
    or @mentions). Control characters become visible escapes, so the value stays one line."""
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


# Jira wiki markup: every character that starts markup is escaped with a backslash.
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
