"""The routes of the control-plane API, one per operation of the CLI: each parses, calls one use
case of ``keel.app`` as the caller, and answers its ``to_dict()`` (listings one page of them)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from keel.api.auth import Caller, uses
from keel.api.paging import Cursor, Limit, page, page_limit
from keel.api.release_tag import check_if_match, tagged
from keel.api.schemas import (
    CanaryBody,
    Ident,
    MonitorBody,
    NoteBody,
    Number,
    PromoteBody,
    ResolveBody,
    RollbackBody,
    ShadowBody,
)
from keel.app import control, data, monitoring, project, queries, registry, training
from keel.app.result import jsonable
from keel.monitoring.incidents import IncidentStatus

router = APIRouter(prefix="/api/v1")
Json = dict[str, Any]
Filter = Annotated[str | None, Query(max_length=100, pattern=r"^[\x20-\x7e]*$")]
MAX_LISTED = 10_000  # the audit listing reads at most this many events, newest first


@router.get("/status", tags=["project"])
@uses(project.status)
def status(keel: Caller) -> Json:
    return project.status(keel).to_dict()


@router.get("/overview", tags=["project"])
@uses(control.overview)
def overview(keel: Caller) -> Json:
    return control.overview(keel).to_dict()


# ---------------------------------------------------------------- data


@router.get("/data/versions", tags=["data"])
@uses(data.list_versions)
def data_versions(
    request: Request, keel: Caller, limit: Limit = None, cursor: Cursor = None
) -> Json:
    found = data.list_versions(keel)
    return page(found, lambda v: v.version, limit=page_limit(request, limit), cursor=cursor)


@router.get("/data/origins", tags=["data"])
@uses(data.version_origins)
def data_origins(keel: Caller) -> Json:
    """Who or what made each version, oldest first (``keel data versions``' "made by")."""
    return {"origins": [jsonable(origin) for origin in data.version_origins(keel)]}


@router.get("/data/versions/{version}", tags=["data"])
@uses(data.show_version)
def data_version(version: Ident, keel: Caller) -> Json:
    return data.show_version(keel, version).to_dict()


@router.get("/data/diff", tags=["data"])
@uses(data.diff_versions)
def data_diff(
    keel: Caller,
    old: Annotated[str, Query(pattern=r"^[A-Za-z0-9._-]{1,32}$")],
    new: Annotated[str, Query(pattern=r"^[A-Za-z0-9._-]{1,32}$")],
) -> Json:
    return data.diff_versions(keel, old, new).to_dict()


@router.get("/quarantine", tags=["data"])
@uses(data.list_quarantine)
def quarantine(
    request: Request,
    keel: Caller,
    all: bool = False,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Json:
    found = data.list_quarantine(keel, all_batches=all)
    return page(found, lambda b: b.id, limit=page_limit(request, limit), cursor=cursor)


@router.get("/quarantine/{batch_id}", tags=["data"])
@uses(data.show_quarantine)
def quarantine_batch(
    batch_id: Ident, keel: Caller, rows: Annotated[int, Query(ge=0, le=500)] = 20
) -> Json:
    return data.show_quarantine(keel, batch_id, limit=rows).to_dict()


@router.post("/quarantine/{batch_id}/replay", tags=["data"])
@uses(data.replay)
def quarantine_replay(batch_id: Ident, keel: Caller) -> Json:
    return dict(jsonable(data.replay(keel, batch_id)))


# ---------------------------------------------------------------- training and registry


@router.get("/runs", tags=["training"])
@uses(training.list_runs)
def runs(request: Request, keel: Caller, limit: Limit = None, cursor: Cursor = None) -> Json:
    found = training.list_runs(keel, limit=MAX_LISTED)
    return page(found, lambda r: r.run.id, limit=page_limit(request, limit), cursor=cursor)


@router.get("/runs/{run_id}", tags=["training"])
@uses(training.show_run)
def run(run_id: Ident, keel: Caller) -> Json:
    return training.show_run(keel, run_id).to_dict()


@router.get("/models", tags=["registry"])
@uses(registry.list_models)
def models(request: Request, keel: Caller, limit: Limit = None, cursor: Cursor = None) -> Json:
    found = registry.list_models(keel)
    return page(found, lambda m: m.model.version, limit=page_limit(request, limit), cursor=cursor)


@router.get("/models/{version}", tags=["registry"])
@uses(registry.show_model)
def model(version: Number, keel: Caller) -> Json:
    return registry.show_model(keel, version).to_dict()


@router.post("/models/{version}/gate", tags=["registry"])
@uses(registry.gate)
def gate(version: Number, keel: Caller) -> Json:
    return dict(jsonable(registry.gate(keel, version)))


@router.post("/models/{version}/approve", tags=["registry"])
@uses(registry.release_status, registry.approve)
def approve(
    version: Number, body: NoteBody, request: Request, response: Response, keel: Caller
) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.approve(keel, version, note=body.note)))
    tagged(response, keel)
    return done


@router.post("/models/{version}/reject", tags=["registry"])
@uses(registry.reject)
def reject(version: Number, body: NoteBody, keel: Caller) -> Json:
    return registry.reject(keel, version, note=body.note).to_dict()


@router.get("/monitor/performance", tags=["monitoring"])
@uses(control.performance_series)
def monitor_performance(keel: Caller, chunks: Annotated[int, Query(ge=1, le=1000)] = 200) -> Json:
    return control.performance_series(keel, chunks=chunks).to_dict()


# ---------------------------------------------------------------- release


@router.get("/release", tags=["release"])
@uses(registry.release_status)
def release(response: Response, keel: Caller) -> Json:
    tagged(response, keel)
    return registry.release_status(keel).to_dict()


@router.get("/release/history", tags=["release"])
@uses(registry.release_history)
def release_history(
    request: Request, keel: Caller, limit: Limit = None, cursor: Cursor = None
) -> Json:
    found = registry.release_history(keel, limit=MAX_LISTED)
    return page(found, lambda r: r.seq, limit=page_limit(request, limit), cursor=cursor)


@router.post("/release/promote", tags=["release"])
@uses(registry.release_status, registry.promote)
def promote(body: PromoteBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.promote(keel, body.version, override=body.override)))
    tagged(response, keel)
    return done


@router.post("/release/shadow", tags=["release"])
@uses(registry.release_status, registry.shadow)
def shadow(body: ShadowBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.shadow(keel, body.version, stop=body.stop)))
    tagged(response, keel)
    return done


@router.post("/release/canary", tags=["release"])
@uses(registry.release_status, registry.canary)
def canary(body: CanaryBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = registry.canary(keel, body.version, body.share, override=body.override)
    tagged(response, keel)
    return dict(jsonable(done))


@router.post("/release/rollback", tags=["release"])
@uses(registry.release_status, registry.rollback)
def rollback(body: RollbackBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.rollback(keel, reason=body.reason)))
    tagged(response, keel)
    return done


@router.post("/release/pause", tags=["release"])
@uses(registry.release_status, registry.pause)
def pause(body: RollbackBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.pause(keel, reason=body.reason)))
    tagged(response, keel)
    return done


@router.post("/release/resume", tags=["release"])
@uses(registry.release_status, registry.resume)
def resume(body: RollbackBody, request: Request, response: Response, keel: Caller) -> Json:
    check_if_match(request, keel)
    done = dict(jsonable(registry.resume(keel, reason=body.reason)))
    tagged(response, keel)
    return done


# ---------------------------------------------------------------- monitoring


@router.post("/monitor/runs", tags=["monitoring"])
@uses(monitoring.run_monitor)
def monitor_run(body: MonitorBody, keel: Caller) -> Json:
    return dict(jsonable(monitoring.run_monitor(keel, flush=body.flush)))


@router.get("/monitor/drift", tags=["monitoring"])
@uses(control.drift_series)
def monitor_drift(keel: Caller, chunks: Annotated[int, Query(ge=1, le=1000)] = 200) -> Json:
    return {"series": [s.to_dict() for s in control.drift_series(keel, chunks=chunks)]}


@router.get("/incidents", tags=["monitoring"])
@uses(monitoring.list_incidents)
def incidents(
    request: Request,
    keel: Caller,
    status: IncidentStatus | None = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Json:
    found = monitoring.list_incidents(keel, status)
    return page(found, lambda i: i.seq, limit=page_limit(request, limit), cursor=cursor)


@router.get("/incidents/{seq}", tags=["monitoring"])
@uses(monitoring.show_incident)
def incident(seq: Number, keel: Caller) -> Json:
    return monitoring.show_incident(keel, seq).to_dict()


@router.post("/incidents/{seq}/ack", tags=["monitoring"])
@uses(monitoring.ack_incident)
def ack(seq: Number, body: NoteBody, keel: Caller) -> Json:
    return dict(jsonable(monitoring.ack_incident(keel, seq, body.note or None)))


@router.post("/incidents/{seq}/resolve", tags=["monitoring"])
@uses(monitoring.resolve_incident)
def resolve(seq: Number, body: ResolveBody, keel: Caller) -> Json:
    return dict(jsonable(monitoring.resolve_incident(keel, seq, body.note)))


# ---------------------------------------------------------------- audit and lineage


@router.get("/audit", tags=["audit"])
@uses(project.audit_log)
def audit(  # noqa: PLR0917 - the query parameters of the listing
    request: Request,
    keel: Caller,
    action: Filter = None,
    subject: Filter = None,
    limit: Limit = None,
    cursor: Cursor = None,
) -> Json:
    found = project.audit_log(keel, limit=MAX_LISTED, action=action, subject=subject)
    return page(found, lambda e: e.seq, limit=page_limit(request, limit), cursor=cursor)


@router.get("/audit/verify", tags=["audit"])
@uses(project.verify_audit)
def audit_verify(keel: Caller) -> Json:
    return dict(jsonable(project.verify_audit(keel)))


@router.get("/lineage/{prediction_id}", tags=["lineage"])
@uses(queries.lineage)
def lineage(prediction_id: Ident, keel: Caller) -> Json:
    return queries.lineage(keel, prediction_id).to_dict()
