"""Table definitions; the SQL layer owns these, domain code sees dataclasses only.

Every change here needs a migration under ``migrations/versions`` (a test compares the two).
"""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_name)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

audit_events = sa.Table(
    "audit_events",
    metadata,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("at", sa.String(40), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(100), nullable=False, index=True),
    sa.Column("subject", sa.String(500), nullable=False, index=True),
    sa.Column("details", sa.Text, nullable=False),
    # unique: two events can never claim the same predecessor, so the chain cannot fork
    sa.Column("prev_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
)

audit_head = sa.Table(
    "audit_head",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("hash", sa.String(64), nullable=False),
    sa.CheckConstraint("id = 1", name="single_row"),
)

users = sa.Table(
    "users",
    metadata,
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
)

batches = sa.Table(
    "batches",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("dataset", sa.String(63), nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # features | labels
    sa.Column("source", sa.String(200), nullable=False),
    sa.Column("uri", sa.String(2000), nullable=False),
    sa.Column("file_sha256", sa.String(64), nullable=True, index=True),
    sa.Column("from_text", sa.Boolean, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),  # accepted | rejected
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("accepted", sa.BigInteger, nullable=False),
    sa.Column("quarantined", sa.BigInteger, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),  # JSON: failed batch checks
    sa.Column("row_reasons", sa.Text, nullable=False),  # JSON: counts per (column, code)
    sa.Column("dataset_version", sa.Integer, nullable=True),
    sa.Column("quarantine_digest", sa.String(64), nullable=True),
    sa.Column("replay_of", sa.String(16), nullable=True),
    sa.Column("replayed_by", sa.String(16), nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("rows = accepted + quarantined", name="rows_add_up"),
)

dataset_versions = sa.Table(
    "dataset_versions",
    metadata,
    sa.Column("dataset", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("parent", sa.Integer, nullable=True),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("schema", sa.Text, nullable=False),  # JSON: column -> dtype
    sa.Column("parts", sa.Text, nullable=False),  # JSON: [{digest, rows, batch}]
    sa.Column("batch_id", sa.String(16), sa.ForeignKey("batches.id"), nullable=False),
    sa.Column("profile_digest", sa.String(64), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # one child per parent: history is a line, never a fork
    sa.UniqueConstraint("dataset", "parent", name="uq_dataset_versions_parent"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("project", sa.String(63), nullable=False, index=True),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("data_version", sa.Integer, nullable=False),
    sa.Column("labels_version", sa.Integer, nullable=True),
    sa.Column("seed", sa.BigInteger, nullable=False),
    sa.Column("params", sa.Text, nullable=False),  # JSON
    sa.Column("environment", sa.Text, nullable=False),  # JSON
    sa.Column("metrics", sa.Text, nullable=False),  # JSON
    sa.Column("artifacts", sa.Text, nullable=False),  # JSON: name -> sha256
    sa.Column("model_sha256", sa.String(64), nullable=True),
    sa.Column("error", sa.Text, nullable=True),
    sa.Column("logs", sa.Text, nullable=False),
    sa.Column("parent", sa.String(16), nullable=True),
    sa.Column("tags", sa.Text, nullable=False),  # JSON list
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.UniqueConstraint("project", "seq", name="uq_runs_project_seq"),
)

benchmark_sets = sa.Table(
    "benchmark_sets",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("name", sa.String(63), primary_key=True),
    sa.Column("definition", sa.Text, nullable=False),  # JSON
    sa.Column("digest", sa.String(64), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("data_version", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

model_versions = sa.Table(
    "model_versions",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("run_id", sa.String(16), nullable=False),
    sa.Column("model_sha256", sa.String(64), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("data_version", sa.Integer, nullable=False),
    sa.Column("labels_version", sa.Integer, nullable=True),
    sa.Column("signature", sa.Text, nullable=False),  # JSON list of input fields
    sa.Column("benchmarks", sa.Text, nullable=False),  # JSON: set -> metric -> estimate
    sa.Column("slices", sa.Text, nullable=False),  # JSON
    sa.Column("artifacts", sa.Text, nullable=False),  # JSON: name -> sha256
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # a run is registered once: one run, one model version
    sa.UniqueConstraint("project", "run_id", name="uq_model_versions_run"),
)

gate_results = sa.Table(
    "gate_results",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("benchmark", sa.String(63), nullable=True),
    sa.Column("champion", sa.Integer, nullable=True),
    sa.Column("passed", sa.Boolean, nullable=False),
    sa.Column("checks", sa.Text, nullable=False),  # JSON list
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("evaluated_at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "version"],
        ["model_versions.project", "model_versions.version"],
        name="fk_gate_results_model",
    ),
)

releases = sa.Table(
    "releases",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("parent", sa.Integer, nullable=False),  # 0 for the first release
    sa.Column("champion", sa.Integer, nullable=True),
    sa.Column("shadow", sa.Text, nullable=False),  # JSON list of versions
    sa.Column("canary", sa.Integer, nullable=True),
    sa.Column("canary_share", sa.Float, nullable=False),
    sa.Column("previous_champion", sa.Integer, nullable=True),
    # the released decision policy in force; NULL: the decisions section of keel.yaml
    sa.Column("policy", sa.Integer, nullable=True),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("action", sa.String(30), nullable=False),
    sa.Column("subject", sa.Integer, nullable=True),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("restores", sa.Integer, nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    # history is a line: each release follows the one before, and a parent has one child
    sa.UniqueConstraint("project", "parent", name="uq_releases_parent"),
    sa.CheckConstraint("parent = seq - 1", name="linear"),
)

promotion_requests = sa.Table(
    "promotion_requests",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("gate_seq", sa.Integer, nullable=False),
    sa.Column("requester", sa.String(200), nullable=False),
    sa.Column("needed", sa.Integer, nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("override", sa.Text, nullable=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(
        ["project", "gate_seq"],
        ["gate_results.project", "gate_results.seq"],
        name="fk_promotion_requests_gate",
    ),
)

approvals = sa.Table(
    "approvals",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("request_seq", sa.Integer, primary_key=True, autoincrement=False),
    # one approval per person and request
    sa.Column("approver", sa.String(200), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("gate_seq", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "request_seq"],
        ["promotion_requests.project", "promotion_requests.seq"],
        name="fk_approvals_request",
    ),
)

monitor_runs = sa.Table(
    "monitor_runs",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("watermark", sa.DateTime(timezone=True), nullable=True),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("chunks", sa.Integer, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
)

monitor_chunks = sa.Table(
    "monitor_chunks",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("run", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("label", sa.String(100), primary_key=True),
    sa.Column("start", sa.DateTime(timezone=True), nullable=False),
    sa.Column("end", sa.DateTime(timezone=True), nullable=False),
    sa.Column("rows", sa.BigInteger, nullable=False),
    sa.Column("model", sa.String(100), nullable=True),
    sa.Column("results", sa.Text, nullable=False),  # JSON
    sa.Column("breaches", sa.Text, nullable=False),  # JSON list
)

incidents = sa.Table(
    "incidents",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("category", sa.String(20), nullable=False),
    sa.Column("severity", sa.String(10), nullable=False),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    sa.Column("breaches", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("acked_by", sa.String(200), nullable=True),
    sa.Column("resolved_by", sa.String(200), nullable=True),
    sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)

incident_events = sa.Table(
    "incident_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(63), nullable=False),
    sa.Column("incident", sa.Integer, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON
    sa.ForeignKeyConstraint(
        ["project", "incident"],
        ["incidents.project", "incidents.seq"],
        name="fk_incident_events_incident",
    ),
    sa.Index("ix_incident_events_incident", "project", "incident"),
)

# The agent (keel.automation): its lease, kill switch, journal and guards.

agent_controls = sa.Table(
    "agent_controls",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("paused", sa.Boolean, nullable=False),
    sa.Column("paused_by", sa.String(200), nullable=True),
    sa.Column("reason", sa.Text, nullable=True),
    sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True),
    # the leader lease: one agent at a time; ``term`` rises at each takeover
    sa.Column("holder", sa.String(200), nullable=True),
    sa.Column("term", sa.Integer, nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
    # the model's cooldown: no new action before this time
    sa.Column("cooldown_until", sa.DateTime(timezone=True), nullable=True),
)

agent_actions = sa.Table(
    "agent_actions",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("rule", sa.Text, nullable=False),
    sa.Column("mode", sa.String(20), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("evidence", sa.Text, nullable=False),  # JSON
    sa.Column("steps", sa.Text, nullable=False),  # JSON list
    sa.Column("outcome", sa.Text, nullable=False),  # JSON
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    # the idempotency key: one trigger, one action
    sa.UniqueConstraint("project", "key", name="uq_agent_actions_key"),
)

agent_inflight = sa.Table(
    "agent_inflight",
    metadata,
    # single flight: one running action per model (a project serves one model)
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("action", sa.Integer, nullable=False),
    sa.Column("since", sa.DateTime(timezone=True), nullable=False),
)

agent_budget = sa.Table(
    "agent_budget",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("action", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("kind", sa.String(20), primary_key=True),
    sa.Column("units", sa.Integer, nullable=False),
    sa.Column("status", sa.String(10), nullable=False),  # reserved | charged | released
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),  # never the token itself
    sa.Column("username", sa.String(63), nullable=False, index=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
)

review_items = sa.Table(
    "review_items",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("project", sa.String(63), nullable=False),
    sa.Column("prediction_id", sa.String(64), nullable=False),
    sa.Column("entity_id", sa.String(200), nullable=False),
    sa.Column("predicted_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("model", sa.String(100), nullable=True),
    sa.Column("score", sa.Float, nullable=True),
    sa.Column("decision", sa.String(63), nullable=True),
    sa.Column("reason", sa.String(10), nullable=False),
    sa.Column("priority", sa.Float, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("state", sa.String(10), nullable=False),
    sa.Column("holder", sa.String(200), nullable=True),
    sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
    sa.Column("reviews_needed", sa.Integer, nullable=False),
    sa.Column("reviews_done", sa.Integer, nullable=False),
    sa.Column("resolution", sa.String(63), nullable=True),
    sa.Column("label", sa.Float, nullable=True),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
    # when the deadline stopped mattering: reported as missed, or the item settled
    sa.Column("sla_done_at", sa.DateTime(timezone=True), nullable=True),
    # one item per logged prediction, however often the log is scanned
    sa.UniqueConstraint("project", "prediction_id", name="uq_review_items_prediction"),
    sa.Index("ix_review_items_queue", "project", "state", "priority"),
    sa.Index("ix_review_items_predicted", "project", "predicted_at"),
    sa.Index("ix_review_items_deadline", "project", "sla_done_at", "due_at"),
)

review_decisions = sa.Table(
    "review_decisions",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("item", sa.Integer, sa.ForeignKey("review_items.id"), primary_key=True),
    # one decision per reviewer and item: two reviews of one item are two people's
    sa.Column("reviewer", sa.String(200), primary_key=True),
    sa.Column("decision", sa.String(63), nullable=False),
    sa.Column("label", sa.Float, nullable=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
)

review_cursors = sa.Table(
    "review_cursors",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("watermark", sa.DateTime(timezone=True), nullable=False),
)

decision_policies = sa.Table(
    "decision_policies",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("digest", sa.String(16), nullable=False),
    sa.Column("deciding", sa.Text, nullable=False),  # JSON: the deciding keys, in order
    sa.Column("source", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("created_by", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("gate", sa.Text, nullable=True),  # JSON: the latest gate result
    sa.Column("requested_by", sa.String(200), nullable=True),
    sa.Column("requested_at", sa.DateTime(timezone=True), nullable=True),
    # one version per content: registering the same policy again finds the first
    sa.UniqueConstraint("project", "digest", name="uq_decision_policies_digest"),
)

policy_approvals = sa.Table(
    "policy_approvals",
    metadata,
    sa.Column("project", sa.String(63), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True, autoincrement=False),
    # one approval per person and pending release
    sa.Column("approver", sa.String(200), primary_key=True),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ["project", "version"],
        ["decision_policies.project", "decision_policies.version"],
        name="fk_policy_approvals_policy",
    ),
)
