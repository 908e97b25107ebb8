"""How a person or account is compared: one folding, in Python, for every key column.

A key column (`campaign_items.reviewer_key`, `decisions.actor_key`, `campaign_people.alias`
…) holds the folded text, and SQL compares it with a parameter folded here, never with
SQL's `lower()`: `lower()` does not agree with Python's casefolding (`ß` stays `ß` in SQL and
becomes `ss` here), and differs between SQLite and PostgreSQL.
"""

from __future__ import annotations

import unicodedata


def fold(text: str | None) -> str:
    """Trimmed, NFKC-normalised and casefolded: `" Strauß@ACME.com "` → `"strauss@acme.com"`.

    NFKC again after casefolding, as Unicode's NFKC_Casefold does: casefolding can leave a
    string that is not normalised (it decomposes some characters).
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text.strip()).casefold())
    return folded.strip()
