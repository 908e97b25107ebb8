"""The current store schema as SQLAlchemy Core tables, used by every query.

Tables are created and changed only by `migrations`; a test checks that migrating an
empty database yields exactly these tables and columns.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, MetaData, String, Table, Text

metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("description", Text, nullable=False),
    Column("applied_at", String(40), nullable=False),
)

snapshots = Table(
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

sources = Table(
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

principals = Table(
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

resources = Table(
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

grants = Table(
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

edges = Table(
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

gaps = Table(
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
