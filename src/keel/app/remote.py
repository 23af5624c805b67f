"""The remote CLI: with ``KEEL_URL`` (and ``KEEL_API_KEY``) set, the commands the control plane
covers call ``keel server`` instead of opening the project here, and print the same output with
the same exit codes.

The server checks who may do what (the same use cases run there); an error comes back as a
problem body and is raised here as the same family of ``keel.errors``, so the CLI prints its one
line and hint and exits with its code. Only the standard library speaks HTTP here: the base
install stays lean.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel import errors
from keel.app.registry import ReleaseStatus
from keel.app.use_case import offline
from keel.audit.chain import ChainReport
from keel.data.versions import DatasetVersion, Part
from keel.monitoring.incidents import Incident, IncidentStatus, Severity
from keel.registry.approvals import Approval, Promotion, PromotionRequest, RequestStatus
from keel.registry.releases import Release, ReleaseState

TIMEOUT_SECONDS = 60.0
FAMILIES: dict[str, type[errors.KeelError]] = {
    "InvalidInput": errors.InvalidInput,
    "ConfigError": errors.InvalidInput,
    "Conflict": errors.Conflict,
    "Unauthenticated": errors.Unauthenticated,
    "PolicyViolation": errors.PolicyViolation,
    "PermissionDenied": errors.PermissionDenied,
    "IntegrityError": errors.IntegrityError,
    "StorageUnavailable": errors.StorageUnavailable,
}
BY_STATUS: dict[int, type[errors.KeelError]] = {
    401: errors.Unauthenticated,
    403: errors.PolicyViolation,
    409: errors.Conflict,
    412: errors.Conflict,
    413: errors.InvalidInput,
    422: errors.InvalidInput,
    428: errors.InvalidInput,
    503: errors.StorageUnavailable,
}


@dataclass(frozen=True)
class Remote:
    """A control-plane server and the key to call it with (never printed)."""

    url: str
    api_key: str | None

    def __repr__(self) -> str:
        return f"Remote(url={self.url!r}, api_key={'***' if self.api_key else None})"

    def call(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        if_match: str | None = None,
        **query: str,
    ) -> Any:
        """One request; a problem answer raises the Keel error of its family."""
        return self._send(method, path, body, if_match=if_match, **query)[0]

    def release_tag(self) -> str:
        """The release's ETag now: a release change sends it back as ``If-Match``, so the
        server refuses it if someone else changed the release in between."""
        headers = self._send("GET", "/api/v1/release")[1]
        return next((v for k, v in headers.items() if k.lower() == "etag"), "")

    def _send(
        self,
        method: str,
        path: str,
        body: object = None,
        *,
        if_match: str | None = None,
        **query: str,
    ) -> tuple[Any, Mapping[str, str]]:
        url = self.url.rstrip("/") + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"Accept": "application/json"}
        if if_match is not None:
            headers["If-Match"] = if_match
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)  # noqa: S310 - the URL is the operator's KEEL_URL
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
                return json.loads(answer.read()), dict(answer.headers.items())
        except urllib.error.HTTPError as error:
            raise _error(error.code, error.read(), path) from None
        except (urllib.error.URLError, TimeoutError, OSError) as error:
            raise errors.StorageUnavailable(
                f"cannot reach the control plane at {self.url}",
                hint="check KEEL_URL, or unset it to work on the local project",
            ) from error

    def listing(self, path: str, **query: str) -> list[dict[str, Any]]:
        """Every item of a paged listing, following the cursors."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            page = self.call("GET", path, **query, **({"cursor": cursor} if cursor else {}))
            items += page["items"]
            cursor = page.get("next_cursor")
            if not cursor:
                return items


def _error(status: int, raw: bytes, path: str) -> errors.KeelError:
    try:
        body = json.loads(raw)
    except ValueError:
        body = {}
    detail = str(body.get("detail") or f"the control plane answered {status}")
    hint = body.get("hint")
    if status == 404:
        return errors.NotFound("route", path, message=detail, hint=hint)
    family = FAMILIES.get(str(body.get("error")), BY_STATUS.get(status, errors.KeelError))
    return family(detail, hint=hint)


@offline(action="reading KEEL_URL")
def remote_from(environ: Mapping[str, str]) -> Remote | None:
    """The server the CLI should call, or None to work on the local project."""
    url = environ.get("KEEL_URL", "").strip()
    if not url:
        return None
    if not url.startswith(("http://", "https://")):
        raise errors.ConfigError(
            f"KEEL_URL must start with http:// or https://, got {url!r}", path="KEEL_URL"
        )
    return Remote(url, environ.get("KEEL_API_KEY") or None)


@dataclass(frozen=True)
class RemoteIncidents:
    project: str
    incidents: list[Incident]


@offline(action="listing incidents")
def list_incidents(remote: Remote, status: IncidentStatus | None = None) -> RemoteIncidents:
    """``GET /api/v1/incidents`` (every page), newest first; the server checks the role."""
    query = {"status": status.value} if status else {}
    found = [_incident(d) for d in remote.listing("/api/v1/incidents", **query)]
    return RemoteIncidents(remote.call("GET", "/api/v1/status")["project"], found)


@offline(action="acknowledging an incident", writes=True)
def ack_incident(remote: Remote, seq: int, note: str | None = None) -> Incident:
    """``POST /api/v1/incidents/{seq}/ack``; the server checks the role."""
    return _incident(remote.call("POST", f"/api/v1/incidents/{seq}/ack", {"note": note or ""}))


@offline(action="resolving an incident", writes=True)
def resolve_incident(remote: Remote, seq: int, note: str) -> Incident:
    """``POST /api/v1/incidents/{seq}/resolve``; the server checks the role."""
    return _incident(remote.call("POST", f"/api/v1/incidents/{seq}/resolve", {"note": note}))


def _incident(body: dict[str, Any]) -> Incident:
    return Incident(
        project="",  # the server's project; the faces show what to_dict shows
        seq=int(body["incident"]),
        category=body["category"],
        severity=Severity(body["severity"]),
        status=IncidentStatus(body["status"]),
        title=body["title"],
        opened_at=datetime.fromisoformat(body["opened_at"]),
        updated_at=datetime.fromisoformat(body["updated_at"]),
        breaches=int(body["breaches"]),
        note=body.get("note"),
        acked_by=body.get("acked_by"),
        resolved_by=body.get("resolved_by"),
    )


@offline(action="verifying the audit log")
def verify_audit(remote: Remote) -> ChainReport:
    """``GET /api/v1/audit/verify``: the server checks its hash chain."""
    body = remote.call("GET", "/api/v1/audit/verify")
    return ChainReport(
        ok=bool(body["ok"]),
        events=int(body["events"]),
        head_hash=str(body["head_hash"]),
        first_bad_seq=body.get("first_bad_event"),
        reason=body.get("reason"),
    )


# ---------------------------------------------------------------- release


@offline(action="reading the project's name")
def project_name(remote: Remote) -> str:
    """The name of the server's project (a version reference may name it)."""
    return str(remote.call("GET", "/api/v1/status")["project"])


@offline(action="reading the release")
def release_status(remote: Remote) -> ReleaseStatus:
    """``GET /api/v1/release``: the current release and the promotions awaiting approval."""
    body = remote.call("GET", "/api/v1/release")
    release = _release(body) if body.get("release") else None
    return ReleaseStatus(release, tuple(_request(p) for p in body["pending"]))


@offline(action="promoting a model", writes=True)
def promote(remote: Remote, version: int, *, override: str | None = None) -> Promotion:
    """``POST /api/v1/release/promote`` with the release's current tag."""
    body = {"version": version, "override": override}
    tag = remote.release_tag()
    return _promotion(remote.call("POST", "/api/v1/release/promote", body, if_match=tag))


@offline(action="approving a promotion", writes=True)
def approve(remote: Remote, version: int, *, note: str = "") -> Promotion:
    """``POST /api/v1/models/{version}/approve`` with the release's current tag."""
    tag = remote.release_tag()
    path = f"/api/v1/models/{version}/approve"
    return _promotion(remote.call("POST", path, {"note": note}, if_match=tag))


@offline(action="rolling back a release", writes=True)
def rollback(remote: Remote, *, reason: str | None = None) -> Release:
    """``POST /api/v1/release/rollback`` with the release's current tag."""
    tag = remote.release_tag()
    body = remote.call("POST", "/api/v1/release/rollback", {"reason": reason}, if_match=tag)
    return _release(body)


@offline(action="pausing or resuming a model", writes=True)
def pause(remote: Remote, *, reason: str | None = None, paused: bool = True) -> Release:
    """``POST /api/v1/release/pause`` (or ``resume``) with the release's current tag."""
    tag = remote.release_tag()
    path = "/api/v1/release/pause" if paused else "/api/v1/release/resume"
    return _release(remote.call("POST", path, {"reason": reason}, if_match=tag))


def _promotion(body: dict[str, Any]) -> Promotion:
    return Promotion(
        _release(body["release"]) if body.get("release") else None,
        _request(body["request"]) if body.get("request") else None,
        [_approval(a) for a in body.get("approvals", [])],
    )


def _seq(text: str | None) -> int:
    """The number of ``rel-0004``, ``p-0002`` or ``g-0003`` (0 for None)."""
    return int(text.rsplit("-", 1)[1]) if text else 0


def _release(body: dict[str, Any]) -> Release:
    canary = body.get("canary") or {}
    state = ReleaseState(
        champion=body.get("champion"),
        shadow=tuple(body.get("shadow") or ()),
        canary=canary.get("version"),
        canary_share=float(canary.get("share", 0.0)),
        previous_champion=body.get("previous_champion"),
        policy=body.get("policy"),
        paused=bool(body.get("paused", False)),
    )
    return Release(
        project="",  # the server's project; the faces show what to_dict shows
        seq=int(body["seq"]),
        parent=_seq(body.get("parent")),
        state=state,
        action=body["action"],
        actor=body["actor"],
        created_at=datetime.fromisoformat(body["created_at"]),
        subject=body.get("subject"),
        reason=body.get("reason"),
        restores=_seq(body.get("restores")),
        details=dict(body.get("details") or {}),
    )


def _request(body: dict[str, Any]) -> PromotionRequest:
    closed = body.get("closed_at")
    return PromotionRequest(
        project="",
        seq=_seq(body["promotion"]),
        version=int(body["model_version"]),
        gate_seq=_seq(body["gate_result"]),
        requester=body["requester"],
        needed=int(body["approvals_needed"]),
        status=RequestStatus(body["status"]),
        created_at=datetime.fromisoformat(body["created_at"]),
        override=body.get("override"),
        closed_at=datetime.fromisoformat(closed) if closed else None,
    )


def _approval(body: dict[str, Any]) -> Approval:
    return Approval(
        request_seq=_seq(body["promotion"]),
        version=int(body["model_version"]),
        gate_seq=_seq(body["gate_result"]),
        approver=body["approver"],
        note=body["note"],
        at=datetime.fromisoformat(body["at"]),
    )


# ---------------------------------------------------------------- data


@offline(action="listing data versions")
def list_versions(remote: Remote) -> list[DatasetVersion]:
    """``GET /api/v1/data/versions`` (every page), oldest first."""
    return [_version(body) for body in remote.listing("/api/v1/data/versions")]


@offline(action="reading who made each data version")
def version_origins(remote: Remote) -> list[Any]:
    """``GET /api/v1/data/origins``: who or what made each version."""
    from keel.app.data import VersionOrigin  # noqa: PLC0415

    found = remote.call("GET", "/api/v1/data/origins")
    return [VersionOrigin(**body) for body in found["origins"]]


def _version(body: dict[str, Any]) -> DatasetVersion:
    return DatasetVersion(
        dataset=body["dataset"],
        version=int(body["version"]),
        parent=body.get("parent"),
        sha256=body["sha256"],
        rows=int(body["rows"]),
        schema=dict(body["schema"]),
        parts=tuple(Part.from_dict(p) for p in body["parts"]),
        batch_id=body["batch_id"],
        profile_digest=body["profile_digest"],
        created_at=datetime.fromisoformat(body["created_at"]),
        batches=tuple(body.get("batches") or ()),
    )


# ---------------------------------------------------------------- project, models, runs


@offline(action="reading the project status")
def status(remote: Remote) -> Any:
    """``GET /api/v1/status``: the server's project, store, schema, audit head, and who the
    key acts as."""
    from keel.app.project import Acting, AuditHead, SchemaState, Status  # noqa: PLC0415

    body = remote.call("GET", "/api/v1/status")
    audit, actor = body.get("audit"), body.get("actor")
    return Status(
        project=body["project"],
        directory=body["directory"],
        keel_version=body["keel_version"],
        database=body["database"],
        schema=SchemaState(**body["schema"]),
        store=body["store"],
        audit=AuditHead(**audit) if audit else None,
        actor=Acting(**actor) if actor else None,
    )


@offline(action="listing models")
def list_models(remote: Remote) -> list[Any]:
    """``GET /api/v1/models`` (every page), newest first, with each version's release role."""
    from keel.app.registry import ListedModel  # noqa: PLC0415

    return [
        ListedModel(_model(body), body.get("role")) for body in remote.listing("/api/v1/models")
    ]


@offline(action="listing runs")
def list_runs(remote: Remote, *, limit: int) -> list[Any]:
    """``GET /api/v1/runs``, newest first: pages until ``limit`` runs."""
    from keel.app.training import RunSummary  # noqa: PLC0415

    found: list[dict[str, Any]] = []
    cursor: str | None = None
    while len(found) < limit:
        page = remote.call("GET", "/api/v1/runs", **({"cursor": cursor} if cursor else {}))
        found += page["items"]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return [RunSummary(_run(body)) for body in found[:limit]]


def _model(body: dict[str, Any]) -> Any:
    from keel.registry.signature import Signature  # noqa: PLC0415
    from keel.registry.versions import ModelVersion  # noqa: PLC0415

    return ModelVersion(
        project=body["project"],
        version=int(body["model_version"]),
        run_id=body["run_id"],
        model_sha256=body["model_sha256"],
        kind=body["kind"],
        data_version=int(body["data_version"]),
        labels_version=body.get("labels_version"),
        signature=Signature.from_list(body["signature"]),
        benchmarks=dict(body["benchmarks"]),
        slices=dict(body["slices"]),
        artifacts=dict(body["artifacts"]),
        created_at=datetime.fromisoformat(body["created_at"]),
        actor=body["actor"],
    )


def _run(body: dict[str, Any]) -> Any:
    """A run from the JSON of ``RunSummary.to_dict`` (its metrics are under ``details``)."""
    from keel.training.runs import Environment, Run, RunStatus  # noqa: PLC0415

    finished = body.get("finished_at")
    return Run(
        id=body["run_id"],
        project=body["project"],
        status=RunStatus(body["status"]),
        data_version=int(body["data_version"]),
        labels_version=body.get("labels_version"),
        seed=int(body["seed"]),
        params=dict(body["params"]),
        environment=Environment.from_dict(body["environment"]),
        started_at=datetime.fromisoformat(body["started_at"]),
        actor=body["actor"],
        finished_at=datetime.fromisoformat(finished) if finished else None,
        metrics=dict(body.get("details") or {}),
        artifacts=dict(body.get("artifacts") or {}),
        model_sha256=body.get("model_sha256"),
        error=body.get("error"),
        logs=body.get("logs") or "",
        parent=body.get("parent"),
        tags=tuple(body.get("tags") or ()),
    )
