"""Versioned schema migrations: each step upgrades the store by one version, in one transaction.

Steps never import `schema`: each declares the tables as they were in its version, so an
old database upgrades the same way however the current schema has moved on.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import Column, Connection, ForeignKey, Index, Integer, MetaData, String, Table, Text, inspect, select

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


MIGRATIONS: list[Migration] = [
    (1, "snapshots with sources, principals, resources, grants, edges and gaps", _v1_initial),
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
