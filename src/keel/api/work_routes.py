"""The routes of the review queue, the agent and the decision policies: the work people and the
agent do on the served model. Like every route, each parses, calls one use case of ``keel.app``
as the caller, and answers its ``to_dict()`` (listings one page of them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from keel.api.auth import Caller, uses
from keel.api.paging import Cursor, Limit, page, page_limit
from keel.api.schemas import (
    ClaimBody,
    NoteBody,
    Number,
    PauseBody,
    PolicyBody,
    ResolveBody,
    ReviewBody,
    RollbackBody,
    SyncBody,
)
from keel.app import agent, policies, review
from keel.app.result import jsonable
from keel.decisions.states import ItemState, Reason

router = APIRouter(prefix="/api/v1")
Json = dict[str, Any]
MAX_LISTED = 10_000
"""A listing reads at most this many records, most urgent or newest first."""


# ---------------------------------------------------------------- review queue


@router.get("/review/items", tags=["review"])
@uses(review.list_items)
def review_items(  # noqa: PLR0917 - the query parameters of the listing
    request: Request,
    keel: Caller,
    state: ItemState | None = None,
    reason: Reason | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Json:
    found = review.list_items(keel, state=state, reason=reason, limit=MAX_LISTED)
    return page(found, lambda i: i.id, limit=page_limit(request, limit), cursor=cursor)


@router.get("/review/items/{item}", tags=["review"])
@uses(review.show_item)
def review_item(item: Number, keel: Caller) -> Json:
    return review.show_item(keel, item).to_dict()


@router.post("/review/claim", tags=["review"])
@uses(review.claim_item)
def review_claim(body: ClaimBody, keel: Caller) -> Json:
    return dict(jsonable(review.claim_item(keel, body.item)))


@router.post("/review/items/{item}/resolve", tags=["review"])
@uses(review.resolve_item)
def review_resolve(item: Number, body: ReviewBody, keel: Caller) -> Json:
    done = review.resolve_item(keel, item, decision=body.decision, label=body.label, note=body.note)
    return dict(jsonable(done))


@router.post("/review/items/{item}/release", tags=["review"])
@uses(review.release_item)
def review_release(item: Number, keel: Caller) -> Json:
    return dict(jsonable(review.release_item(keel, item)))


@router.get("/review/stats", tags=["review"])
@uses(review.review_stats)
def review_stats(keel: Caller, confidence: Annotated[float, Query(gt=0.5, lt=1.0)] = 0.95) -> Json:
    return review.review_stats(keel, confidence=confidence).to_dict()


@router.post("/review/sync", tags=["review"])
@uses(review.sync_review)
def review_sync(body: SyncBody, keel: Caller) -> Json:
    return dict(jsonable(review.sync_review(keel, full=body.full)))


# ---------------------------------------------------------------- agent


@router.get("/agent", tags=["agent"])
@uses(agent.status)
def agent_status(keel: Caller) -> Json:
    return agent.status(keel).to_dict()


@router.get("/agent/plan", tags=["agent"])
@uses(agent.plan)
def agent_plan(keel: Caller) -> Json:
    return agent.plan(keel).to_dict()


@router.get("/agent/journal", tags=["agent"])
@uses(agent.history)
def agent_journal(
    request: Request, keel: Caller, limit: Limit = None, cursor: Cursor = None
) -> Json:
    found = agent.history(keel, limit=MAX_LISTED)
    return page(found, lambda a: a.seq, limit=page_limit(request, limit), cursor=cursor)


@router.get("/agent/journal/{seq}", tags=["agent"])
@uses(agent.explain)
def agent_action(seq: Number, keel: Caller) -> Json:
    return agent.explain(keel, seq).to_dict()


@router.post("/agent/journal/{seq}/approve", tags=["agent"])
@uses(agent.approve)
def agent_approve(seq: Number, body: NoteBody, keel: Caller) -> Json:
    return dict(jsonable(agent.approve(keel, seq, note=body.note)))


@router.post("/agent/pause", tags=["agent"])
@uses(agent.pause)
def agent_pause(body: PauseBody, keel: Caller) -> Json:
    return dict(jsonable(agent.pause(keel, reason=body.reason)))


@router.post("/agent/resume", tags=["agent"])
@uses(agent.resume)
def agent_resume(keel: Caller) -> Json:
    return dict(jsonable(agent.resume(keel)))


# ---------------------------------------------------------------- decision policies


@router.get("/policies", tags=["decisions"])
@uses(policies.list_policies)
def policy_list(keel: Caller) -> Json:
    return policies.list_policies(keel).to_dict()


@router.post("/policies", tags=["decisions"])
@uses(policies.register_policy)
def policy_register(body: PolicyBody, keel: Caller) -> Json:
    done = policies.register_policy(keel, section=body.decisions, note=body.note)
    return done.to_dict()


@router.get("/policies/{version}", tags=["decisions"])
@uses(policies.show_policy)
def policy_show(version: Number, keel: Caller) -> Json:
    return policies.show_policy(keel, version).to_dict()


@router.post("/policies/{version}/gate", tags=["decisions"])
@uses(policies.gate_policy)
def policy_gate(version: Number, keel: Caller) -> Json:
    return policies.gate_policy(keel, version).to_dict()


@router.post("/policies/{version}/release", tags=["decisions"])
@uses(policies.release_policy)
def policy_release(version: Number, body: RollbackBody, keel: Caller) -> Json:
    return policies.release_policy(keel, version, reason=body.reason or "").to_dict()


@router.post("/policies/{version}/approve", tags=["decisions"])
@uses(policies.approve_policy)
def policy_approve(version: Number, body: NoteBody, keel: Caller) -> Json:
    return policies.approve_policy(keel, version, note=body.note).to_dict()


@router.post("/policies/{version}/reject", tags=["decisions"])
@uses(policies.reject_policy)
def policy_reject(version: Number, body: ResolveBody, keel: Caller) -> Json:
    return policies.reject_policy(keel, version, note=body.note).to_dict()


@router.post("/policy/rollback", tags=["decisions"])
@uses(policies.rollback_policy)
def policy_rollback(body: RollbackBody, keel: Caller) -> Json:
    return policies.rollback_policy(keel, reason=body.reason or "").to_dict()
