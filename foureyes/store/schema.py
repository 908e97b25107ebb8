"""The current store schema as SQLAlchemy Core tables, used by every query.

Tables are created and changed only by `migrations`; a test checks that migrating an
empty database yields exactly these tables and columns.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
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
)

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
    Column("activity", Integer, nullable=False, default=0),  # migration 5
    Column("period_start", String(40)),  # migration 5: NULL when the source read no activity
    Column("period_end", String(40)),
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
    # one principal by key: the stored analysis names the few it shows (migration 5)
    Index("ix_principals_key", "snapshot_id", "system", "ident"),
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
    # the edges leaving a principal: the stored analysis draws a path from them (migration 5)
    Index("ix_edges_src", "snapshot_id", "src"),
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
    Column("about", String(20), nullable=False, default=""),  # migration 5: "activity" or ""
    Index("ix_gaps_snapshot", "snapshot_id"),
)

# -- activity in the review period (migration 5) -----------------------------

activity = Table(
    "activity",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    Column("source", String(100), nullable=False),
    Column("kind", String(20), nullable=False),  # change | deployment | bypass | event | last_used
    Column("key", String(40), nullable=False),
    Column("system", String(20), nullable=False),
    Column("ident", Text, nullable=False),
    Column("at", String(40), nullable=False, default=""),
    Column("content", Text, nullable=False),  # the record's canonical JSON (foureyes.activity.canonical)
    Index("ix_activity_snapshot_kind", "snapshot_id", "kind"),
)

# Every table that holds a part of a snapshot (a row per principal, grant, …, keyed by
# snapshot_id, deleted with it). The snapshot's content digest (`store.digests`) covers each
# of them, every column but snapshot_id: a table added here is covered without more code,
# and a test checks that every table with a cascading snapshot_id is listed.
SNAPSHOT_TABLES = (sources, principals, resources, grants, edges, gaps, activity)

# -- the analysis stored beside its snapshot (migration 5) ------------------------------------
#
# Derived, not content: a snapshot's analysis (people, capability holdings, paths, findings, teams)
# under the digest of everything it was computed from (`foureyes.stored`), recomputed whenever
# that changes and never used when its key does not match. Deleted with the snapshot.

analyses = Table(
    "analyses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), nullable=False),
    # digest of the inputs but exceptions: snapshot, rule pack, config, analysis code
    Column("base_key", String(64), nullable=False),
    Column("inputs", Text, nullable=False),  # JSON: each input's digest, to say what changed
    Column("format", Integer, nullable=False),
    # 'writing' until the same transaction marks it 'complete'; readers see only 'complete'.
    Column("status", String(16), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("digest", String(64), nullable=False, default=""),  # content digest of its rows
    Column("summary", Text, nullable=False, default=""),  # JSON: counts
    Index("ix_analyses_snapshot", "snapshot_id", "base_key"),
)

# Which exceptions cover which findings, under the digest of the base key and the exceptions.
analysis_coverage = Table(
    "analysis_coverage",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("waivers", Text, nullable=False),  # JSON: the exceptions' ids, in the order `covers` numbers them
    Column("covers", Text, nullable=False),  # JSON: finding seq -> indexes of the exceptions matching it
    Column("created_at", String(40), nullable=False),
    PrimaryKeyConstraint("analysis_id", "key", name="pk_analysis_coverage"),
)

analysis_people = Table(
    "analysis_people",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("person", Text, nullable=False),
    Column("name", Text, nullable=False, default=""),
    Column("linked", Boolean, nullable=False),
    Column("external", Boolean, nullable=False),
    Column("accounts", Text, nullable=False),  # JSON [[principal, method, evidence], ...]
    Column("holdings", Integer, nullable=False, default=0),
    Column("reach", Text, nullable=False, default="[]"),  # JSON: `Graph.reach` of the accounts
    Index("ix_analysis_people", "analysis_id", "person"),
)

analysis_holdings = Table(
    "analysis_holdings",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("person", Text, nullable=False),
    Column("capability", String(40), nullable=False),
    Column("holdings", LargeBinary, nullable=False),  # the person's holdings of it (`foureyes.stored_form`)
    Index("ix_analysis_holdings_capability", "analysis_id", "capability"),
    Index("ix_analysis_holdings_person", "analysis_id", "person"),
)

analysis_findings = Table(
    "analysis_findings",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("finding_id", String(80), nullable=False),
    Column("rule", String(80), nullable=False),
    Column("person", Text, nullable=False),
    Column("scope", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("subject_label", Text, nullable=False),
    Column("evidence", Text, nullable=False),  # JSON: [requirement index, [holding, ...]] each
    # JSON: a posture finding's settings and exposed people, a roster finding's facts
    Column("details", Text, nullable=False, default="{}"),
    Index("ix_analysis_findings", "analysis_id", "seq"),
)

# The roster the people were linked with (identity sources' people, aliases, what could not be read).
analysis_roster = Table(
    "analysis_roster",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("roster", LargeBinary, nullable=False),  # compressed JSON (zstd; zlib before analysis format 8)
    Index("ix_analysis_roster", "analysis_id"),
)

# Closures of the principals paths go through (teams, roles, CI contexts): a path is walked here.
analysis_nodes = Table(
    "analysis_nodes",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("node", Text, nullable=False),
    Column("closure", LargeBinary, nullable=False),  # compressed JSON (zstd; zlib before analysis format 8)
    Index("ix_analysis_nodes", "analysis_id"),
)

analysis_teams = Table(
    "analysis_teams",
    metadata,
    Column("analysis_id", Integer, ForeignKey("analyses.id", ondelete="CASCADE"), nullable=False),
    Column("team", Text, nullable=False),  # principal key
    Column("members", Text, nullable=False),  # JSON: person keys reaching it, child teams' included
    Column("maintainers", Text, nullable=False),  # JSON: person keys
    Index("ix_analysis_teams", "analysis_id"),
)

ANALYSIS_TABLES = (analysis_coverage, analysis_people, analysis_holdings, analysis_findings, analysis_nodes,
                   analysis_teams, analysis_roster)
# A snapshot's content digest as campaigns commit to it (`records.snapshot_digest`), computed once.
snapshot_digests = Table(
    "snapshot_digests",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("digest", Text, nullable=False),  # JSON
    Column("created_at", String(40), nullable=False),
)

# A snapshot's grants packed for loading in one read (migration 8): the grant rows as written, per
# source in stored order, as columns (`writing.GrantPacker`). Derived from the rows and written with
# them; a snapshot without one (written before migration 8) or with one that does not fit is loaded
# from the rows, and `audit verify` checks the rows.
snapshot_packs = Table(
    "snapshot_packs",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("format", Integer, nullable=False),
    Column("grants", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# A snapshot's principals and its edges, each packed for loading in one read (migration 10) as its grants
# are: the rows as written, per source in the order they were inserted, as columns (`writing.pack_rows`).
# Derived from the rows and written with them; a part without a pack that fits is loaded from its rows.
snapshot_part_packs = Table(
    "snapshot_part_packs",
    metadata,
    Column("snapshot_id", Integer, ForeignKey("snapshots.id", ondelete="CASCADE"), primary_key=True),
    Column("part", String(20), primary_key=True),  # principals, edges
    Column("format", Integer, nullable=False),
    Column("rows", Integer, nullable=False),
    Column("data", LargeBinary, nullable=False),
)

# Tables deleted with a snapshot that are not part of its content (the digest leaves them out).
DERIVED_TABLES = (analyses, snapshot_digests, snapshot_packs, snapshot_part_packs)

# -- review (migration 2) ----------------------------------------------------

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
    # Whether the campaign's identities (`campaign_people`) were frozen: false only for a
    # campaign created before migration 3 until foureyes freezes them on its first use.
    Column("people_frozen", Boolean, nullable=False, default=False),
    # One campaign per template and period, however many cron jobs race.
    UniqueConstraint("template", "period", name="uq_campaigns_template_period"),
)

campaign_items = Table(
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
    Column("reviewer_key", Text, nullable=False, default=""),  # the person the reviewer resolves to (keys.fold)
    Column("reviewer_rule", Text, nullable=False, default=""),
    Column("state", String(16), nullable=False),
    Column("decision_id", Integer),
    Column("decided_by", Text),
    Column("decided_at", String(40)),
    Column("version", Integer, nullable=False, default=0),
    # the roster at creation: "" without one (migration 4)
    Column("person_status", Text, nullable=False, default=""),
    Column("person_manager", Text, nullable=False, default=""),
    Column("person_department", Text, nullable=False, default=""),
    Column("usage", Text, nullable=False, default=""),  # migration 6: last use and its evidence (JSON)
    # The one index: a campaign's items, and one reviewer's (every query names the campaign).
    # Items by grant or by (campaign, reviewer) were indexed until migration 9 dropped them: no
    # query used them, and keeping them up cost about a third of inserting a campaign's items.
    Index("ix_campaign_items_reviewer_key", "campaign_id", "reviewer_key"),
)

campaign_findings = Table(
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
    Column("person_key", Text, nullable=False, default=""),  # keys.fold(person)
    PrimaryKeyConstraint("campaign_id", "finding_id", name="pk_campaign_findings"),
)

# Who is who in a campaign, frozen from its snapshot's identity links: every spelling of a
# person (their key, each linked account, the accounts' emails, configured e-mail aliases)
# folded (keys.fold), with the person it names. An alias "@domain" holds a domain alias.
campaign_people = Table(
    "campaign_people",
    metadata,
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("alias", Text, nullable=False),
    Column("person", Text, nullable=False),
    Column("via", Text, nullable=False, default=""),
    PrimaryKeyConstraint("campaign_id", "alias", "person", name="pk_campaign_people"),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("item_id", Integer, ForeignKey("campaign_items.id"), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("actor", Text, nullable=False),
    Column("actor_key", Text, nullable=False, default=""),  # the person the actor resolves to (keys.fold)
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
    Index("ix_decisions_campaign_actor_key", "campaign_id", "actor_key"),
)

exceptions = Table(
    "exceptions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("campaign_id", Integer, ForeignKey("campaigns.id"), nullable=False),
    Column("item_id", Integer, ForeignKey("campaign_items.id"), nullable=False),
    Column("decision_id", Integer, nullable=False),
    Column("person", Text, nullable=False),
    Column("covers", Text, nullable=False, default="[]"),  # JSON [[rule, scope], ...]
    Column("reason", Text, nullable=False),
    Column("expires", String(10), nullable=False),
    Column("requested_by", Text, nullable=False),
    Column("requested_by_key", Text, nullable=False, default=""),
    Column("requested_at", String(40), nullable=False),
    # pending | approved | rejected | withdrawn | lapsed
    Column("status", String(16), nullable=False),
    Column("approver", Text),
    Column("approver_key", Text),
    Column("approved_at", String(40)),
    Column("resolution_note", Text, nullable=False, default=""),
    Index("ix_exceptions_status", "status"),
)

item_notes = Table(
    "item_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("item_id", Integer, ForeignKey("campaign_items.id"), nullable=False),
    Column("actor", Text, nullable=False),
    Column("at", String(40), nullable=False),
    Column("text", Text, nullable=False),
    Index("ix_item_notes_item", "item_id"),
)

revocation_checks = Table(
    "revocation_checks",
    metadata,
    Column("item_id", Integer, ForeignKey("campaign_items.id"), nullable=False),
    Column("snapshot_id", Integer, ForeignKey("snapshots.id"), nullable=False),
    Column("present", Boolean),  # NULL: unknown, the snapshot has a gap there
    Column("note", Text, nullable=False, default=""),
    Column("checked_at", String(40), nullable=False),
    PrimaryKeyConstraint("item_id", "snapshot_id", name="pk_revocation_checks"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    # 1: entries written before migration 3 (no state); 2: the entry commits to `state`
    Column("v", Integer, nullable=False, default=1),
    Column("at", String(40), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", String(40), nullable=False),
    Column("campaign_id", Integer),
    Column("item_id", Integer),
    Column("decision", String(16), nullable=False, default=""),
    Column("reason", Text, nullable=False, default=""),
    Column("snapshot_digest", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("state", Text, nullable=False, default=""),  # JSON: the records the action left (v2)
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)
