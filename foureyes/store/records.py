"""What the audit chain commits to besides its own entries, and how the tables are checked
against it: the review's records (campaigns, items, decisions, exceptions, notes), the rows
frozen when a campaign is created (items, findings, identities), and snapshot contents.

An entry of version 2 carries `state`: the rows the action left, read back inside the
action's transaction (`capture`). A campaign's creation entry carries `frozen`: digests over
the rows that never change afterwards and over the campaign's snapshot (`freeze`).
`compare` replays the states in chain order and names every row that differs from its last
committed state. Rows in, rows out: the review owns their meaning.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from operator import itemgetter
from typing import Any, Callable, Iterable, Mapping, Sequence

from sqlalchemy import Boolean, Connection, Table, select

from . import schema as t

# The columns of an item that change as it is decided; the rest are frozen at creation.
ITEM_STATE = ("state", "decision_id", "decided_by", "decided_at", "version")
# Tables whose whole rows an entry commits to (every column but the id), per item touched.
ITEM_RECORDS: tuple[Table, ...] = (t.decisions, t.exceptions, t.item_notes)
# Columns not committed: `decisions.audit_seq` is written after the entry, naming it.
NOT_COMMITTED = {"decisions": {"id", "audit_seq"}}
# The order differences are reported in, for the same entry.
TABLE_ORDER = ("campaigns", "campaign_items", "decisions", "exceptions", "item_notes")


def _columns(table: Table, *, skip: Iterable[str] = ()) -> list[str]:
    left_out = {"id", *skip, *NOT_COMMITTED.get(table.name, ())}
    return [c.name for c in table.columns if c.name not in left_out]


def _row(row: Any, columns: Sequence[str]) -> dict[str, Any]:
    """Column values as JSON keeps them (both backends return booleans as booleans)."""
    mapping = row._mapping
    return {c: mapping[c] for c in columns}


# ---------------------------------------------------------------- capture (inside the action)


def capture(conn: Connection, *, campaigns: Iterable[int] = (), items: Iterable[int] = ()) -> dict[str, Any]:
    """The rows an action leaves: whole campaign rows, and for each item its changing columns
    with every decision, exception and note about it. Ids are JSON object keys (text)."""
    state: dict[str, dict[str, Any]] = {}
    campaign_ids, item_ids = sorted(set(campaigns)), sorted(set(items))
    if campaign_ids:
        columns = _columns(t.campaigns)
        state["campaigns"] = {str(r.id): _row(r, columns) for r in conn.execute(
            select(t.campaigns).where(t.campaigns.c.id.in_(campaign_ids)))}
    if item_ids:
        state["campaign_items"] = {str(r.id): _row(r, ITEM_STATE) for r in conn.execute(
            select(t.campaign_items).where(t.campaign_items.c.id.in_(item_ids)))}
        for table in ITEM_RECORDS:
            columns = _columns(table)
            state[table.name] = {str(r.id): _row(r, columns) for r in conn.execute(
                select(table).where(table.c.item_id.in_(item_ids)))}
    return state


# ---------------------------------------------------------------- digests of frozen rows


_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
try:  # `_encode` of a row without building the C encoder again for each of 500,000 rows
    from json.encoder import c_make_encoder, encode_basestring

    _rows_encoder = c_make_encoder(None, _encode.__self__.default, encode_basestring, None, ":", ",", False, False, True)

    def _encode_row(row: list[Any]) -> str:
        return "".join(_rows_encoder(row, 0))
except ImportError:  # pragma: no cover - CPython has the C encoder
    _encode_row = _encode


def rows_digest(rows: Iterable[Sequence[Any]]) -> dict[str, Any]:
    """Row count and a digest that does not depend on row order (each row hashed as a JSON
    array, the hashes sorted): the database may return rows in any order, and text sorts
    differently in SQLite and PostgreSQL."""
    sha256 = hashlib.sha256
    return _hashes_digest([sha256(_encode_row(list(r)).encode("utf-8", "surrogatepass")).digest() for r in rows])


def _hashes_digest(hashes: list[bytes]) -> dict[str, Any]:
    hashes.sort()
    whole = hashlib.sha256(len(hashes).to_bytes(8, "big"))
    for h in hashes:
        whole.update(h)
    return {"rows": len(hashes), "digest": whole.hexdigest()}


def _frozen_item_columns() -> list[str]:
    return [c.name for c in t.campaign_items.columns if c.name not in ITEM_STATE]


def items_digest(ids: Sequence[int], rows: Iterable[Sequence[Any]], columns: Sequence[str]) -> dict[str, Any]:
    """What `freeze` commits to about a campaign's items (their frozen columns' digest and the state
    they start in), from the rows as they were written (``columns`` names their values, the id
    apart): the same digest as reading them back, without reading 500,000 rows again."""
    return items_digest_of([item_hashes(ids, rows, columns)])


def item_hashes(ids: Sequence[int], rows: Iterable[Sequence[Any]],
                columns: Sequence[str]) -> tuple[list[bytes], set[tuple[Any, ...]]]:
    """`items_digest`'s work on some of the items (each row's hash, the states they start in):
    `items_digest_of` makes the digest of all from those of its parts (the hashes are sorted)."""
    frozen = _frozen_item_columns()
    where = [columns.index(c) for c in frozen if c != "id"]
    flags = [n + 1 for n, i in enumerate(where) if isinstance(t.campaign_items.c[columns[i]].type, Boolean)]
    state = [columns.index(c) for c in ITEM_STATE]
    pick, pick_state = itemgetter(*where), itemgetter(*state)
    sha256 = hashlib.sha256
    hashes = []
    starts = set()
    for row_id, row in zip(ids, rows, strict=True):
        values = [row_id, *pick(row)]
        for n in flags:  # as `_stream` reads them back
            if values[n] is not None:
                values[n] = bool(values[n])
        hashes.append(sha256(_encode_row(values).encode("utf-8", "surrogatepass")).digest())
        starts.add(pick_state(row))
    return hashes, starts


def items_digest_of(parts: Sequence[tuple[list[bytes], set[tuple[Any, ...]]]]) -> dict[str, Any]:
    """`items_digest` of all the items from `item_hashes` of its parts."""
    hashes = parts[0][0] if len(parts) == 1 else [h for part, _ in parts for h in part]
    starts = set().union(*(s for _, s in parts))
    if len(starts) > 1:  # pragma: no cover - every item is created in the same state
        raise ValueError("a campaign's items do not start in one state")
    start = dict(zip(ITEM_STATE, starts.pop())) if starts else {}
    return {**_hashes_digest(hashes), "start": start}


def _stream(conn: Connection, table: Table, columns: Sequence[str], where: str, value: int) -> Iterable[Sequence[Any]]:
    """The rows of ``table`` whose ``where`` column is ``value``, through the driver's own cursor
    in batches: a snapshot may hold a million grants, and SQLAlchemy's per-row wrapping would
    double the time. Booleans come back as booleans on both backends."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    flags = [i for i, c in enumerate(columns) if isinstance(table.c[c].type, Boolean)]
    cursor = conn.connection.cursor()
    try:
        cursor.execute(f"SELECT {', '.join(columns)} FROM {table.name} WHERE {where} = {mark}", (value,))
        while True:
            chunk = cursor.fetchmany(20000)
            if not chunk:
                break
            if flags:
                chunk = [tuple(bool(v) if i in flags and v is not None else v for i, v in enumerate(row))
                         for row in chunk]
            yield from chunk
    finally:
        cursor.close()


def snapshot_digest(conn: Connection, snapshot_id: int) -> dict[str, Any]:
    """The snapshot's content: its row in `snapshots` and every row of every table in
    `schema.SNAPSHOT_TABLES`, all columns but snapshot_id. The one place that lists what a
    snapshot is made of is that tuple."""
    found = conn.execute(select(t.snapshots).where(t.snapshots.c.id == snapshot_id)).first()
    row = _row(found, _columns(t.snapshots)) if found is not None else {}
    tables = {}
    for table in t.SNAPSHOT_TABLES:
        columns = [c.name for c in table.columns if c.name != "snapshot_id"]
        tables[table.name] = rows_digest(_stream(conn, table, columns, "snapshot_id", snapshot_id))
    whole = hashlib.sha256(json.dumps([row, tables], sort_keys=True, ensure_ascii=False)
                           .encode("utf-8", "surrogatepass")).hexdigest()
    return {"id": snapshot_id, "row": row, "tables": tables, "digest": whole}


def remembered_snapshot_digest(conn: Connection, snapshot_id: int) -> dict[str, Any]:
    """`snapshot_digest`, computed once per snapshot and kept (`snapshot_digests`): reading a
    million rows again for every campaign of the same snapshot costs seconds. What a campaign's
    creation commits to is then the snapshot as it was first digested; `compare` always recomputes
    it from the rows, so rows changed since (before or after the campaign) still show."""
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    found = conn.exec_driver_sql(f"SELECT digest FROM snapshot_digests WHERE snapshot_id = {mark}",
                                 (snapshot_id,)).first()
    if found is not None:
        return json.loads(found[0])
    digest = snapshot_digest(conn, snapshot_id)
    if digest["row"]:  # a snapshot that exists
        conn.exec_driver_sql(
            f"INSERT INTO snapshot_digests (snapshot_id, digest, created_at) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (snapshot_id) DO NOTHING",
            (snapshot_id, json.dumps(digest, sort_keys=True, ensure_ascii=False), datetime.now(timezone.utc).isoformat()))
    return digest


def people_digest(conn: Connection, campaign_id: int) -> dict[str, Any]:
    columns = [c.name for c in t.campaign_people.columns if c.name != "campaign_id"]
    return rows_digest(_stream(conn, t.campaign_people, columns, "campaign_id", campaign_id))


def freeze(conn: Connection, campaign_id: int, snapshot_id: int, *, creating: bool = True,
           items: Mapping[str, Any] | None = None, people: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """What a campaign's creation commits to: its snapshot's content, its items' frozen
    columns and (``creating``) the state they start in, its frozen findings and its identities.
    ``items``: the items' part as `items_digest` worked it out when writing them (else read back);
    ``people``: the identities' part as worked out from the rows written (`review.people_digest_of`)."""
    if items is not None:
        return {"snapshot": remembered_snapshot_digest(conn, snapshot_id), "items": dict(items),
                **_frozen_rest(conn, campaign_id, people)}
    found = rows_digest(_stream(conn, t.campaign_items, _frozen_item_columns(), "campaign_id", campaign_id))
    starts: set[str] = set()
    if creating:
        starts = {json.dumps(_row(r, ITEM_STATE), sort_keys=True) for r in conn.execute(
            select(*[t.campaign_items.c[c] for c in ITEM_STATE]).where(t.campaign_items.c.campaign_id == campaign_id)
            .distinct())}
        if len(starts) > 1:  # pragma: no cover - every item is created in the same state
            raise ValueError(f"campaign {campaign_id}'s items do not start in one state")
    return {
        "snapshot": remembered_snapshot_digest(conn, snapshot_id) if creating else snapshot_digest(conn, snapshot_id),
        "items": {**found, "start": json.loads(starts.pop()) if starts else {}},
        **_frozen_rest(conn, campaign_id),
    }


def _frozen_rest(conn: Connection, campaign_id: int, people: Mapping[str, Any] | None = None) -> dict[str, Any]:
    finding_columns = [c.name for c in t.campaign_findings.columns if c.name != "campaign_id"]
    return {"findings": rows_digest(_stream(conn, t.campaign_findings, finding_columns, "campaign_id", campaign_id)),
            "people": dict(people) if people is not None else people_digest(conn, campaign_id)}


# ---------------------------------------------------------------- comparing the tables with the chain


@dataclass(frozen=True)
class Committed:
    """One entry as `compare` reads it."""

    seq: int
    version: int
    action: str
    campaign_id: int | None
    snapshot_digest: str
    state: Mapping[str, Any]


@dataclass(frozen=True)
class Difference:
    """A record the tables hold otherwise than the chain says."""

    table: str
    id: str
    column: str
    chain: Any
    actual: Any
    seq: int | None  # the entry whose state says otherwise
    note: str = ""

    def describe(self) -> str:
        where = f"table {self.table}, id {self.id}" + (f", column {self.column}" if self.column else "")
        said = ", ".join(x for x in (f"entry {self.seq}" if self.seq is not None else "", self.note) if x)
        return f"{where}: the chain says {_show(self.chain)}{f' ({said})' if said else ''}, " \
               f"the table says {_show(self.actual)}"

    def to_json(self) -> dict[str, Any]:
        """``chain``/``table_value`` null with ``missing`` naming the side that has no such row."""
        missing = "chain" if self.chain is MISSING else "table" if self.actual is MISSING else None
        return {"table": self.table, "id": self.id, "column": self.column or None,
                "chain": None if self.chain is MISSING else self.chain,
                "table_value": None if self.actual is MISSING else self.actual, "missing": missing,
                "entry": self.seq, "note": self.note or None, "text": self.describe()}


class _Missing:
    def __repr__(self) -> str:
        return "no such row"


MISSING: Any = _Missing()


def _show(value: Any) -> str:
    if value is MISSING:
        return "no such row"
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 120 else text[:117] + "…"


def in_order(counts: Mapping[str, int]) -> list[tuple[str, int]]:
    """Per-table counts in the order records are reported (campaigns, items, decisions, …)."""
    return sorted(((k, n) for k, n in counts.items() if n), key=lambda kv: (_table_rank(kv[0]), kv[0]))


@dataclass(frozen=True)
class Comparison:
    differences: tuple[Difference, ...]
    checked: Mapping[str, int]  # rows compared, per table
    unverified: Mapping[str, int]  # rows only entries without state speak for, per table
    legacy_campaigns: tuple[int, ...]


def compare(conn: Connection, entries: Sequence[Committed], *, new_campaign: str,
            recompute_key_digest: Callable[[int], str],
            people_frozen_action: str) -> Comparison:
    """Replay the states of ``entries`` (chain order) and compare every review record with
    the last state committed for it; recompute the frozen digests and snapshot contents.

    ``new_campaign`` is the action that creates a campaign, ``people_frozen_action`` the one
    that freezes an older campaign's identities; ``recompute_key_digest(snapshot_id)`` gives a
    snapshot's key digest from its stored rows (for campaigns whose creation entry predates
    content digests).
    """
    known: dict[str, dict[str, tuple[dict[str, Any], int]]] = {name: {} for name in TABLE_ORDER}
    created_v2: dict[int, Committed] = {}
    created_v1: dict[int, Committed] = {}
    people_at: dict[int, tuple[Mapping[str, Any], int]] = {}
    known_items: set[str] = set()
    for entry in entries:
        if entry.action == new_campaign and entry.campaign_id is not None:
            (created_v2 if entry.version >= 2 else created_v1)[entry.campaign_id] = entry
        if entry.version < 2:
            continue
        for table, found in entry.state.items():
            if table in known:
                for row_id, values in found.items():
                    known[table][row_id] = (values, entry.seq)
        known_items.update(entry.state.get("campaign_items", {}))
        frozen = entry.state.get("frozen", {})
        if entry.action == people_frozen_action and entry.campaign_id is not None and "people" in frozen:
            people_at[entry.campaign_id] = (frozen["people"], entry.seq)
    differences: list[Difference] = []
    checked: dict[str, int] = {}
    unverified: dict[str, int] = {}

    def differ(table: str, row_id: str, chain: Mapping[str, Any], actual: Mapping[str, Any], seq: int,
               columns: Sequence[str]) -> None:
        for column in columns:
            if chain.get(column) != actual.get(column):
                differences.append(Difference(table, row_id, column, chain.get(column), actual.get(column), seq))
                return

    # campaigns
    campaign_rows = {str(r.id): r for r in conn.execute(select(t.campaigns))}
    columns = _columns(t.campaigns)
    for row_id, row in campaign_rows.items():
        actual = _row(row, columns)
        if row_id in known["campaigns"]:
            chain, seq = known["campaigns"][row_id]
            differ("campaigns", row_id, chain, actual, seq, columns)
            checked["campaigns"] = checked.get("campaigns", 0) + 1
        elif int(row_id) in created_v1:
            unverified["campaigns"] = unverified.get("campaigns", 0) + 1
        else:
            differences.append(Difference("campaigns", row_id, "", MISSING, "a campaign", None,
                                          "no entry created it"))
    for row_id, (chain, seq) in known["campaigns"].items():
        if row_id not in campaign_rows:
            differences.append(Difference("campaigns", row_id, "", "a campaign", MISSING, seq))

    # items: their changing columns
    item_rows = {str(r.id): r for r in conn.execute(select(t.campaign_items))}
    item_campaign = {row_id: r.campaign_id for row_id, r in item_rows.items()}
    for row_id, row in item_rows.items():
        actual = _row(row, ITEM_STATE)
        if row_id in known["campaign_items"]:
            chain, seq = known["campaign_items"][row_id]
        elif row.campaign_id in created_v2:
            entry = created_v2[row.campaign_id]
            chain, seq = entry.state.get("frozen", {}).get("items", {}).get("start", {}), entry.seq
        else:
            unverified["campaign_items"] = unverified.get("campaign_items", 0) + 1
            continue
        differ("campaign_items", row_id, chain, actual, seq, ITEM_STATE)
        checked["campaign_items"] = checked.get("campaign_items", 0) + 1
    for row_id, (chain, seq) in known["campaign_items"].items():
        if row_id not in item_rows:
            differences.append(Difference("campaign_items", row_id, "", "an item", MISSING, seq))

    # decisions, exceptions and notes: whole rows, for every item the chain speaks for
    speaks_for = known_items | {i for i, c in item_campaign.items() if c in created_v2}
    for table in ITEM_RECORDS:
        columns = _columns(table)
        found = {str(r.id): r for r in conn.execute(select(table))}
        for row_id, row in found.items():
            actual = _row(row, columns)
            if row_id in known[table.name]:
                chain, seq = known[table.name][row_id]
                differ(table.name, row_id, chain, actual, seq, columns)
                checked[table.name] = checked.get(table.name, 0) + 1
            elif str(row.item_id) in speaks_for:
                differences.append(Difference(table.name, row_id, "", MISSING, f"a row about item {row.item_id}",
                                              None, "no entry recorded it"))
            else:
                unverified[table.name] = unverified.get(table.name, 0) + 1
        for row_id, (chain, seq) in known[table.name].items():
            if row_id not in found:
                differences.append(Difference(table.name, row_id, "", f"a row about item {chain.get('item_id')}",
                                              MISSING, seq))

    # what creation froze: items, findings, identities, and the snapshot's content
    for campaign_id, entry in sorted(created_v2.items()):
        frozen = entry.state.get("frozen", {})
        now = freeze(conn, campaign_id, frozen.get("snapshot", {}).get("id", -1), creating=False)
        for part, table in (("items", "campaign_items"), ("findings", "campaign_findings"),
                            ("people", "campaign_people")):
            said = frozen.get(part, {})
            if part == "people" and campaign_id in people_at:
                continue  # frozen later, by its own entry (checked below)
            if (said.get("rows"), said.get("digest")) != (now[part]["rows"], now[part]["digest"]):
                differences.append(_digest_difference(table, f"campaign {campaign_id}", said, now[part], entry.seq))
        said_snapshot, now_snapshot = frozen.get("snapshot", {}), now["snapshot"]
        snapshot_ref = str(said_snapshot.get("id"))
        said_row = said_snapshot.get("row", {})
        if not now_snapshot["row"]:
            differences.append(Difference("snapshots", snapshot_ref, "", "a snapshot", MISSING, entry.seq))
        else:
            differ("snapshots", snapshot_ref, said_row, now_snapshot["row"], entry.seq, list(said_row))
        for name, said in sorted(said_snapshot.get("tables", {}).items(), key=lambda kv: _table_rank(kv[0])):
            got = now_snapshot["tables"].get(name, {"rows": 0, "digest": ""})
            if (said.get("rows"), said.get("digest")) != (got["rows"], got["digest"]):
                differences.append(_digest_difference(name, f"snapshot {snapshot_ref}", said, got, entry.seq))
        extra = sorted(set(now_snapshot["tables"]) - set(said_snapshot.get("tables", {})))
        for name in extra:  # a table added since: its rows were not committed; empty is all it may be
            if now_snapshot["tables"][name]["rows"]:
                differences.append(_digest_difference(name, f"snapshot {snapshot_ref}", {"rows": 0, "digest": ""},
                                                      now_snapshot["tables"][name], entry.seq))
    for campaign_id, (said, seq) in sorted(people_at.items()):
        now_people = people_digest(conn, campaign_id)
        if (said.get("rows"), said.get("digest")) != (now_people["rows"], now_people["digest"]):
            differences.append(_digest_difference("campaign_people", f"campaign {campaign_id}", said, now_people, seq))

    # snapshots frozen by older creation entries: their key digest, recomputed from the rows
    snapshot_of = {int(k): r.snapshot_id for k, r in campaign_rows.items()}
    for campaign_id, entry in sorted(created_v1.items()):
        snapshot_id = snapshot_of.get(campaign_id)
        if snapshot_id is None or not entry.snapshot_digest:
            continue
        got = recompute_key_digest(snapshot_id)
        if got != entry.snapshot_digest:
            differences.append(Difference("snapshots", str(snapshot_id), "digest", entry.snapshot_digest, got,
                                          entry.seq, "recomputed from the stored rows"))
    differences.sort(key=lambda d: (d.seq if d.seq is not None else 1 << 62, _table_rank(d.table), _id_rank(d.id)))
    return Comparison(tuple(differences), checked, unverified, tuple(sorted(created_v1)))


def _digest_difference(table: str, of: str, said: Mapping[str, Any], got: Mapping[str, Any], seq: int) -> Difference:
    return Difference(table, of, "", f"{said.get('rows')} rows, digest {str(said.get('digest'))[:16]}…",
                      f"{got['rows']} rows, digest {got['digest'][:16]}…", seq,
                      "rows deleted, added or edited since")


def _table_rank(name: str) -> int:
    order = (*TABLE_ORDER, "campaign_findings", "campaign_people", "snapshots",
             *(table.name for table in t.SNAPSHOT_TABLES))
    return order.index(name) if name in order else len(order)


def _id_rank(row_id: str) -> tuple[int, str]:
    return (int(row_id), "") if row_id.isdigit() else (1 << 62, row_id)
