"""Versioned schema migrations: each step upgrades the store by one version, in one transaction.

Steps never import `schema`: each declares the tables as they were in its version, so an
old database upgrades the same way however the current schema has moved on.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    inspect,
    select,
)

Migration = tuple[int, str, Callable[[Connection], None]]


def _v1_initial(conn: Connection) -> None:
    """Snapshots with their sources, principals, resources, grants, edges and gaps."""
    metadata = MetaData()

    Table(
        "schema_version",
        metadata,
        Column("version", Integer, primary_key=True),
        Column("description", Text, nullable=False),
        Column("applied_at", String(40), nullable=False),
    )

    Table(
        "snapshots",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("taken_at", String(40), nullable=False),
        Column("label", Text, nullable=False, default=""),
        Column("digest", String(64), nullable=False, default=""),
        # 'writing' until the same transaction marks it 'complete'; readers see only 'complete'.
        Column("status", String(16), nullable=False),
        Column("stored_at", String(40), nullable=False),
    )

    Table(
        "sources",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("name", String(100), nullable=False),
        Column("system", String(20), nullable=False),
        Column("started_at", String(40), nullable=False, default=""),
        Column("finished_at", String(40), nullable=False, default=""),
        Column("error", Text),
        Column("stats", Text, nullable=False, default=""),
        Column("principals", Integer, nullable=False, default=0),
        Column("resources", Integer, nullable=False, default=0),
        Column("grants", Integer, nullable=False, default=0),
        Column("edges", Integer, nullable=False, default=0),
        Column("gaps", Integer, nullable=False, default=0),
        Index("ix_sources_snapshot", "snapshot_id"),
    )

    Table(
        "principals",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("system", String(20), nullable=False),
        Column("ident", Text, nullable=False),
        Column("kind", String(40), nullable=False),
        Column("display_name", Text, nullable=False, default=""),
        Column("email", Text),
        Column("home", Text, nullable=False, default=""),
        Column("attrs", Text, nullable=False, default=""),
        Index("ix_principals_snapshot", "snapshot_id"),
    )

    Table(
        "resources",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("system", String(20), nullable=False),
        Column("kind", String(40), nullable=False),
        Column("ident", Text, nullable=False),
        Column("name", Text, nullable=False, default=""),
        Column("tier", String(100), nullable=False, default=""),
        Column("app", Text, nullable=False, default=""),
        Column("parent", Text, nullable=False, default=""),
        Column("attrs", Text, nullable=False, default=""),
        Index("ix_resources_snapshot", "snapshot_id"),
    )

    Table(
        "grants",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("key", String(40), nullable=False),
        Column("system", String(20), nullable=False),
        Column("principal", Text, nullable=False),
        Column("entitlement", Text, nullable=False),
        Column("resource", Text, nullable=False),
        Column("capabilities", Text, nullable=False, default=""),  # space-separated
        Column("via", Text, nullable=False, default=""),
        Column("detail", Text, nullable=False, default=""),
        Column("condition", Text, nullable=False, default=""),
        Column("expires", String(40)),
        Column("last_used", String(40)),
        Column("attrs", Text, nullable=False, default=""),
        Index("ix_grants_snapshot_key", "snapshot_id", "key"),
    )

    Table(
        "edges",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("src", Text, nullable=False),
        Column("dst", Text, nullable=False),
        Column("kind", String(40), nullable=False),
        Column("label", Text, nullable=False, default=""),
        Column("condition", Text, nullable=False, default=""),
        Column("attrs", Text, nullable=False, default=""),
        Index("ix_edges_snapshot", "snapshot_id"),
    )

    Table(
        "gaps",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("system", String(20), nullable=False),
        Column("resource", Text, nullable=False, default=""),
        Column("reason", Text, nullable=False),
        Column("hides", Text, nullable=False, default=""),
        Index("ix_gaps_snapshot", "snapshot_id"),
    )
    metadata.create_all(conn)


def _v2_review(conn: Connection) -> None:
    """Recertification campaigns, their frozen items, decisions, exceptions, notes,
    revocation checks, and the hash-chained audit log with its head row."""
    metadata = MetaData()
    # Referenced by foreign keys only; created by v1.
    Table("snapshots", metadata, Column("id", Integer, primary_key=True))

    campaigns = Table(
        "campaigns",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("name", Text, nullable=False),
        Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=False),
        Column("snapshot_digest", String(64), nullable=False),
        Column("scope", Text, nullable=False),  # JSON
        Column("reviewer_rules", Text, nullable=False),  # JSON
        Column("policy", Text, nullable=False),  # JSON: close policy, exception limits
        Column("status", String(16), nullable=False),  # open | closed
        Column("created_at", String(40), nullable=False),
        Column("created_by", Text, nullable=False),
        Column("due", String(10), nullable=False),
        Column("template", String(100)),
        Column("period", String(40)),
        Column("baseline_snapshot_id", Integer),
        Column("closed_at", String(40)),
        Column("closed_by", Text),
        Column("close_reason", Text),
        # One campaign per template and period, however many cron jobs race.
        UniqueConstraint("template", "period", name="uq_campaigns_template_period"),
    )

    items = Table(
        "campaign_items",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
        Column("grant_key", String(40), nullable=False),
        Column("person", Text, nullable=False),
        Column("person_name", Text, nullable=False, default=""),
        Column("accounts", Text, nullable=False, default="[]"),
        Column("system", String(20), nullable=False),
        Column("principal", Text, nullable=False),
        Column("principal_name", Text, nullable=False, default=""),
        Column("entitlement", Text, nullable=False),
        Column("resource", Text, nullable=False),
        Column("resource_name", Text, nullable=False, default=""),
        Column("tier", String(100), nullable=False, default=""),
        Column("app", Text, nullable=False, default=""),
        Column("capabilities", Text, nullable=False, default=""),
        Column("via", Text, nullable=False, default=""),
        Column("detail", Text, nullable=False, default=""),
        Column("condition", Text, nullable=False, default=""),
        Column("expires", String(40)),
        Column("last_used", String(40)),
        Column("path", Text, nullable=False, default="[]"),
        Column("teams", Text, nullable=False, default="[]"),
        Column("conflicts", Text, nullable=False, default="[]"),
        Column("holders", Integer, nullable=False, default=0),
        Column("is_new", Boolean, nullable=False, default=False),
        Column("previous", Text, nullable=False, default=""),
        Column("fingerprint", String(64), nullable=False, default=""),
        Column("reviewer", Text, nullable=False, default=""),
        Column("reviewer_rule", Text, nullable=False, default=""),
        Column("state", String(16), nullable=False),
        Column("decision_id", Integer),
        Column("decided_by", Text),
        Column("decided_at", String(40)),
        Column("version", Integer, nullable=False, default=0),
        Index("ix_campaign_items_campaign", "campaign_id", "reviewer"),
        Index("ix_campaign_items_grant", "grant_key"),
    )

    Table(
        "campaign_findings",
        metadata,
        Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
        Column("finding_id", String(80), nullable=False),
        Column("rule", String(80), nullable=False),
        Column("person", Text, nullable=False),
        Column("scope", Text, nullable=False),
        Column("severity", String(16), nullable=False),
        Column("title", Text, nullable=False),
        Column("covered", Boolean, nullable=False, default=False),
        PrimaryKeyConstraint("campaign_id", "finding_id", name="pk_campaign_findings"),
    )

    Table(
        "decisions",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("campaign_id", Integer, ForeignKey(campaigns.c.id), nullable=False),
        Column("item_id", Integer, ForeignKey(items.c.id), nullable=False),
        Column("decision", String(16), nullable=False),
        Column("reason", Text, nullable=False, default=""),
        Column("actor", Text, nullable=False),
        Column("at", String(40), nullable=False),
        Column("reviewer_conflicted", Boolean, nullable=False, default=False),
        Column("conflict_note", Text, nullable=False, default=""),
        Column("by_policy", Boolean, nullable=False, default=False),
        Column("bulk", String(40)),
        Column("prior_state", String(16), nullable=False),
        Column("prior_decision_id", Integer),
        Column("undone_by", Text),
        Column("undone_at", String(40)),
        Column("audit_seq", Integer),
        Index("ix_decisions_item", "item_id"),
        Index("ix_decisions_campaign_actor", "campaign_id", "actor"),
    )

    Table(
        "exceptions",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("campaign_id", Integer, ForeignKey(campaigns.c.id), nullable=False),
        Column("item_id", Integer, ForeignKey(items.c.id), nullable=False),
        Column("decision_id", Integer, nullable=False),
        Column("person", Text, nullable=False),
        Column("covers", Text, nullable=False, default="[]"),  # JSON [[rule, scope], ...]
        Column("reason", Text, nullable=False),
        Column("expires", String(10), nullable=False),
        Column("requested_by", Text, nullable=False),
        Column("requested_at", String(40), nullable=False),
        # pending | approved | rejected | withdrawn | lapsed
        Column("status", String(16), nullable=False),
        Column("approver", Text),
        Column("approved_at", String(40)),
        Column("resolution_note", Text, nullable=False, default=""),
        Index("ix_exceptions_status", "status"),
    )

    Table(
        "item_notes",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("item_id", Integer, ForeignKey(items.c.id), nullable=False),
        Column("actor", Text, nullable=False),
        Column("at", String(40), nullable=False),
        Column("text", Text, nullable=False),
        Index("ix_item_notes_item", "item_id"),
    )

    Table(
        "revocation_checks",
        metadata,
        Column("item_id", Integer, ForeignKey(items.c.id), nullable=False),
        Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=False),
        Column("present", Boolean),  # NULL: unknown, the snapshot has a gap there
        Column("note", Text, nullable=False, default=""),
        Column("checked_at", String(40), nullable=False),
        PrimaryKeyConstraint("item_id", "snapshot_id", name="pk_revocation_checks"),
    )

    Table(
        "audit_log",
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=False),
        Column("at", String(40), nullable=False),
        Column("actor", Text, nullable=False),
        Column("action", String(40), nullable=False),
        Column("campaign_id", Integer),
        Column("item_id", Integer),
        Column("decision", String(16), nullable=False, default=""),
        Column("reason", Text, nullable=False, default=""),
        Column("snapshot_digest", String(64), nullable=False, default=""),
        Column("detail", Text, nullable=False, default=""),
        Column("prev_hash", String(64), nullable=False),
        Column("hash", String(64), nullable=False),
    )

    head = Table(
        "audit_head",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=False),
        Column("seq", Integer, nullable=False),
        Column("hash", String(64), nullable=False),
    )
    metadata.create_all(conn, tables=[t for name, t in metadata.tables.items() if name != "snapshots"])
    # The one head row every append locks: concurrent appends queue on it instead of forking the chain.
    conn.execute(head.insert().values(id=1, seq=0, hash="0" * 64))


def _v3_evidence(conn: Connection) -> None:
    """Folded person keys beside every actor, reviewer and subject; the campaigns' frozen
    identities; audit entries that commit to the records they leave (version 2 entries).

    Existing rows get their keys folded here (the folding of `store.keys`, as it is at this
    version); existing campaigns keep people_frozen false until foureyes freezes their
    identities from their snapshot; existing audit entries stay version 1, without state.
    """
    from .keys import fold  # the folding every key column holds

    false = "0" if conn.dialect.name == "sqlite" else "false"
    for table, column, kind in (
        ("campaigns", "people_frozen", f"BOOLEAN NOT NULL DEFAULT {false}"),
        ("campaign_items", "reviewer_key", "TEXT NOT NULL DEFAULT ''"),
        ("campaign_findings", "person_key", "TEXT NOT NULL DEFAULT ''"),
        ("decisions", "actor_key", "TEXT NOT NULL DEFAULT ''"),
        ("exceptions", "requested_by_key", "TEXT NOT NULL DEFAULT ''"),
        ("exceptions", "approver_key", "TEXT"),
        ("audit_log", "v", "INTEGER NOT NULL DEFAULT 1"),
        ("audit_log", "state", "TEXT NOT NULL DEFAULT ''"),
    ):
        conn.exec_driver_sql(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")
    metadata = MetaData()
    for table, source, target, key in (
        ("campaign_items", "reviewer", "reviewer_key", "id"),
        ("decisions", "actor", "actor_key", "id"),
        ("exceptions", "requested_by", "requested_by_key", "id"),
        ("exceptions", "approver", "approver_key", "id"),
    ):
        t = Table(table, metadata, autoload_with=conn) if table not in metadata.tables else metadata.tables[table]
        for row in conn.execute(select(t.c[key], t.c[source])).all():
            if row[1] is not None:
                conn.execute(t.update().where(t.c[key] == row[0]).values({target: fold(row[1])}))
    findings = Table("campaign_findings", metadata, autoload_with=conn)
    for campaign_id, finding_id, person in conn.execute(
            select(findings.c.campaign_id, findings.c.finding_id, findings.c.person)).all():
        conn.execute(findings.update().where(findings.c.campaign_id == campaign_id,
                                             findings.c.finding_id == finding_id).values(person_key=fold(person)))
    Index("ix_campaign_items_reviewer_key", metadata.tables["campaign_items"].c.campaign_id,
          metadata.tables["campaign_items"].c.reviewer_key).create(conn)
    Index("ix_decisions_campaign_actor_key", metadata.tables["decisions"].c.campaign_id,
          metadata.tables["decisions"].c.actor_key).create(conn)
    people = MetaData()
    Table("campaigns", people, Column("id", Integer, primary_key=True))
    Table(
        "campaign_people",
        people,
        Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
        Column("alias", Text, nullable=False),
        Column("person", Text, nullable=False),
        Column("via", Text, nullable=False, default=""),
        PrimaryKeyConstraint("campaign_id", "alias", "person", name="pk_campaign_people"),
    )
    people.create_all(conn, tables=[people.tables["campaign_people"]])


def _v4_item_roster(conn: Connection) -> None:
    """Campaign items record what the roster said of their person when the campaign was created."""
    for column in ("person_status", "person_manager", "person_department"):
        conn.exec_driver_sql(f"ALTER TABLE campaign_items ADD COLUMN {column} TEXT NOT NULL DEFAULT ''")


def _v5_activity(conn: Connection) -> None:
    """Activity read for a review period, kept with its snapshot: each record's kind, key,
    time and canonical JSON; each source's activity count and period; what a gap is about.
    Adds only what is missing, so it can run again over a store that has it."""
    from sqlalchemy import text

    metadata = MetaData()
    Table("snapshots", metadata, Column("id", Integer, primary_key=True))
    Table(
        "activity",
        metadata,
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("source", String(100), nullable=False),
        Column("kind", String(20), nullable=False),
        Column("key", String(40), nullable=False),
        Column("system", String(20), nullable=False),
        Column("ident", Text, nullable=False),
        Column("at", String(40), nullable=False, default=""),
        Column("content", Text, nullable=False),
        Index("ix_activity_snapshot_kind", "snapshot_id", "kind"),
    )
    metadata.create_all(conn, tables=[metadata.tables["activity"]])  # checks first: a step may be re-run
    have = {table: {c["name"] for c in inspect(conn).get_columns(table)} for table in ("sources", "gaps")}
    for table, column, kind in (("sources", "activity", "INTEGER NOT NULL DEFAULT 0"),
                                ("sources", "period_start", "VARCHAR(40)"), ("sources", "period_end", "VARCHAR(40)"),
                                ("gaps", "about", "VARCHAR(20) NOT NULL DEFAULT ''")):
        if column not in have[table]:
            conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {kind}"))


def _v6_item_usage(conn: Connection) -> None:
    """Each campaign item's last use and the evidence for it, frozen when the item is planned.
    Adds only what is missing, so it can run again over a store that has it."""
    from sqlalchemy import text

    if "usage" not in {c["name"] for c in inspect(conn).get_columns("campaign_items")}:
        conn.execute(text("ALTER TABLE campaign_items ADD COLUMN usage TEXT NOT NULL DEFAULT ''"))


def _v7_analyses(conn: Connection) -> None:
    """The analysis stored beside its snapshot: people, holdings, paths, findings and teams under
    the digest of their inputs (derived data: dropping these tables loses nothing but time)."""
    metadata = MetaData()
    Table("snapshots", metadata, Column("id", Integer, primary_key=True))
    Table(
        "analyses",
        metadata,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
        Column("base_key", String(64), nullable=False),
        Column("inputs", Text, nullable=False),
        Column("format", Integer, nullable=False),
        Column("status", String(16), nullable=False),
        Column("created_at", String(40), nullable=False),
        Column("digest", String(64), nullable=False, default=""),
        Column("summary", Text, nullable=False, default=""),
        Index("ix_analyses_snapshot", "snapshot_id", "base_key"),
    )

    def child(name: str, *columns: Any) -> None:
        Table(name, metadata,
              Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
              *columns)

    child("analysis_coverage", Column("key", String(64), nullable=False), Column("waivers", Text, nullable=False),
          Column("covers", Text, nullable=False), Column("created_at", String(40), nullable=False),
          PrimaryKeyConstraint("analysis_id", "key", name="pk_analysis_coverage"))
    child("analysis_people", Column("seq", Integer, nullable=False), Column("person", Text, nullable=False),
          Column("name", Text, nullable=False, default=""), Column("linked", Boolean, nullable=False),
          Column("external", Boolean, nullable=False), Column("accounts", Text, nullable=False),
          Column("holdings", Integer, nullable=False, default=0), Column("reach", Text, nullable=False, default="[]"),
          Index("ix_analysis_people", "analysis_id", "person"))
    child("analysis_holdings", Column("person", Text, nullable=False), Column("capability", String(40), nullable=False),
          Column("holdings", LargeBinary, nullable=False),
          Index("ix_analysis_holdings_capability", "analysis_id", "capability"),
          Index("ix_analysis_holdings_person", "analysis_id", "person"))
    child("analysis_findings", Column("seq", Integer, nullable=False), Column("finding_id", String(80), nullable=False),
          Column("rule", String(80), nullable=False), Column("person", Text, nullable=False),
          Column("scope", Text, nullable=False), Column("subject", Text, nullable=False),
          Column("subject_label", Text, nullable=False), Column("evidence", Text, nullable=False),
          Column("details", Text, nullable=False, default="{}"), Index("ix_analysis_findings", "analysis_id", "seq"))
    child("analysis_nodes", Column("node", Text, nullable=False), Column("closure", LargeBinary, nullable=False),
          Index("ix_analysis_nodes", "analysis_id"))
    child("analysis_teams", Column("team", Text, nullable=False), Column("members", Text, nullable=False),
          Column("maintainers", Text, nullable=False), Index("ix_analysis_teams", "analysis_id"))
    child("analysis_roster", Column("roster", LargeBinary, nullable=False), Index("ix_analysis_roster", "analysis_id"))
    Table("snapshot_digests", metadata,
          Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
          Column("digest", Text, nullable=False), Column("created_at", String(40), nullable=False))
    metadata.create_all(conn, tables=[t for name, t in metadata.tables.items() if name != "snapshots"])
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_edges_src ON edges (snapshot_id, src)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_principals_key ON principals (snapshot_id, system, ident)")


def _v8_snapshot_packs(conn: Connection) -> None:
    """A snapshot's grants packed for loading in one read (derived from its grant rows; snapshots
    written before have none and are loaded from the rows)."""
    metadata = MetaData()
    Table("snapshots", metadata, Column("id", Integer, primary_key=True))
    Table("snapshot_packs", metadata,
          Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
          Column("format", Integer, nullable=False), Column("grants", Integer, nullable=False),
          Column("data", LargeBinary, nullable=False))
    metadata.create_all(conn, tables=[metadata.tables["snapshot_packs"]])


def _v9_item_indexes(conn: Connection) -> None:
    """Campaign items lose the two indexes no query used (by grant; by campaign and reviewer):
    every read of items names their campaign, which the (campaign, reviewer key) index serves,
    and keeping them up took about a third of the time of inserting a campaign's items."""
    for name in ("ix_campaign_items_grant", "ix_campaign_items_campaign"):
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")


def _v10_part_packs(conn: Connection) -> None:
    """A snapshot's principals and edges packed for loading in one read (derived from their rows;
    snapshots written before have none and load those parts from the rows)."""
    metadata = MetaData()
    Table("snapshots", metadata, Column("id", Integer, primary_key=True))
    Table("snapshot_part_packs", metadata,
          Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
          Column("part", String(20), primary_key=True), Column("format", Integer, nullable=False),
          Column("rows", Integer, nullable=False), Column("data", LargeBinary, nullable=False))
    metadata.create_all(conn, tables=[metadata.tables["snapshot_part_packs"]])


MIGRATIONS: list[Migration] = [
    (1, "snapshots with sources, principals, resources, grants, edges and gaps", _v1_initial),
    (2, "review campaigns, items, decisions, exceptions, notes, revocation checks and the audit log", _v2_review),
    (3, "person keys, frozen campaign identities, audit entries that commit to state", _v3_evidence),
    (4, "campaign items record the person's roster status, manager and department", _v4_item_roster),
    (5, "activity in the review period: changes, deployments, bypasses, audit events, last use", _v5_activity),
    (6, "campaign items: last use and its evidence", _v6_item_usage),
    (7, "the analysis stored beside its snapshot, keyed by its inputs; snapshot digests kept; edges by source, principals by key", _v7_analyses),
    (8, "a snapshot's grants packed for loading in one read", _v8_snapshot_packs),
    (9, "campaign items: the indexes no query used (by grant; by campaign and reviewer) dropped", _v9_item_indexes),
    (10, "a snapshot's principals and edges packed for loading in one read", _v10_part_packs),
]

LATEST = MIGRATIONS[-1][0]


def current_version(conn: Connection) -> int:
    """The schema version recorded in the database; 0 for an empty database."""
    if not inspect(conn).has_table("schema_version"):
        return 0
    table = Table("schema_version", MetaData(), autoload_with=conn)
    versions = [row[0] for row in conn.execute(select(table.c.version))]
    return max(versions, default=0)


def record(conn: Connection, version: int, description: str) -> None:
    table = Table("schema_version", MetaData(), autoload_with=conn)
    conn.execute(
        table.insert().values(
            version=version,
            description=description,
            applied_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        )
    )


def pending_after(version: int) -> list[Migration]:
    return [m for m in MIGRATIONS if m[0] > version]
