"""A unit of work: the repositories bound to one transaction."""

from __future__ import annotations

from sqlalchemy.engine import Connection

from keel.store.sql.agent_repo import SqlAgentRepo
from keel.store.sql.audit_repo import SqlAuditLog
from keel.store.sql.data_repo import SqlBatchRepo, SqlDatasetRepo
from keel.store.sql.monitor_repo import SqlIncidentRepo, SqlMonitorRepo
from keel.store.sql.policy_repo import SqlPolicyRepo
from keel.store.sql.registry_repo import (
    SqlGateRepo,
    SqlModelRepo,
    SqlPromotionRepo,
    SqlReleaseRepo,
)
from keel.store.sql.review_repo import (
    SqlReviewCursorRepo,
    SqlReviewDecisionRepo,
    SqlReviewRepo,
)
from keel.store.sql.run_repo import SqlBenchmarkRepo, SqlRunRepo
from keel.store.sql.session_repo import SqlSessionRepo
from keel.store.sql.user_repo import SqlUserRepo


class SqlUnit:
    """Repositories sharing one connection, so a change and its audit event commit together.

    Domain services accept any object with the attributes they need (structural typing), e.g.
    ``keel.identity.service.IdentityUnit``.
    """

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.audit = SqlAuditLog(conn)
        self.users = SqlUserRepo(conn)
        self.sessions = SqlSessionRepo(conn)
        self.batches = SqlBatchRepo(conn)
        self.datasets = SqlDatasetRepo(conn)
        self.runs = SqlRunRepo(conn)
        self.benchmarks = SqlBenchmarkRepo(conn)
        self.models = SqlModelRepo(conn)
        self.gates = SqlGateRepo(conn)
        self.releases = SqlReleaseRepo(conn)
        self.promotions = SqlPromotionRepo(conn)
        self.monitors = SqlMonitorRepo(conn)
        self.incidents = SqlIncidentRepo(conn)
        self.agent = SqlAgentRepo(conn)
        self.review_items = SqlReviewRepo(conn)
        self.review_cursors = SqlReviewCursorRepo(conn)
        self.review_decisions = SqlReviewDecisionRepo(conn)
        self.policies = SqlPolicyRepo(conn)
