"""The control plane: ``keel server`` (the REST API and the dashboard over one project) and the
reads its overview and monitoring pages need.

The server is a separate process from the prediction service (``keel serve``): control-plane
load never slows predictions. Each uvicorn worker assembles its app from the environment
(``CONTROL_FACTORY``); every request acts as the user its API key or session names, never as
the local admin.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from keel.app.result import Result
from keel.app.use_case import query, use_case
from keel.errors import Conflict, InvalidInput
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.monitoring.incidents import Incident, IncidentStatus
from keel.registry.approvals import PromotionRequest
from keel.registry.releases import Release
from keel.types import utcnow
from keel.wiring import Keel

CONTROL_FACTORY = "keel.ui.server:from_environment"
ENV_PREFIX = "KEEL_SERVER_"


@dataclass(frozen=True)
class ControlSettings:
    """How ``keel server`` listens and guards its routes.

    - ``host``/``port``: where it listens (loopback unless told otherwise).
    - ``max_body_bytes``: larger request bodies are refused with 413.
    - ``session_hours``: how long a dashboard login lasts.
    - ``secure_cookies``: mark the session cookie ``Secure`` (set it behind a TLS proxy; a
      request that arrives over https sets it anyway).
    - ``page_size``/``max_page_size``: the default and largest page of a listing.
    """

    host: str = "127.0.0.1"
    port: int = 8700
    max_body_bytes: int = 1 << 20
    session_hours: float = 8.0
    secure_cookies: bool = False
    page_size: int = 50
    max_page_size: int = 500

    def __post_init__(self) -> None:
        if not 0 < self.port < 65536:
            raise InvalidInput(f"port must be 1..65535, got {self.port}", path="port")
        if not 0 < self.page_size <= self.max_page_size:
            raise InvalidInput("page_size must be 1..max_page_size", path="page_size")

    def to_environ(self) -> dict[str, str]:
        return {f"{ENV_PREFIX}{f.name.upper()}": str(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ControlSettings:
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"{ENV_PREFIX}{f.name.upper()}")
            if raw is None:
                continue
            kind = type(getattr(cls(), f.name))
            values[f.name] = raw == "True" if kind is bool else kind(raw)
        return cls(**values)


@dataclass(frozen=True)
class ControlPlane(Result):
    """A control-plane server the caller may start: ``run`` blocks until it is stopped."""

    project: str
    directory: Path
    settings: ControlSettings
    users: int

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def run(self) -> None:
        """Start uvicorn; its worker assembles the app from the environment."""
        import uvicorn  # noqa: PLC0415 - the web stack loads only when a server runs

        os.environ["KEEL_PROJECT"] = str(self.directory)
        os.environ.update(self.settings.to_environ())
        uvicorn.run(
            CONTROL_FACTORY,
            factory=True,
            host=self.settings.host,
            port=self.settings.port,
            access_log=False,
            log_level="warning",
            proxy_headers=True,  # X-Forwarded-Proto from a proxy on loopback: Secure cookies
            timeout_graceful_shutdown=10,
        )


@query(action="starting the control plane")
def server(keel: Keel, settings: ControlSettings) -> ControlPlane:
    """Check that the project can be operated over HTTP (it has users: every request names
    one); the returned server runs when asked."""
    with keel.reader() as unit:
        users = sum(1 for user in unit.users.all() if user.active)
    if users == 0:
        raise Conflict(
            "this project has no users: nobody could log in to the control plane",
            hint="add one first: keel users add NAME --role admin",
        )
    return ControlPlane(keel.project.name, keel.settings.project_dir, settings, users)


@dataclass(frozen=True)
class Overview(Result):
    """What the overview page shows: the release, what waits for a person, open incidents."""

    project: str
    release: Release | None
    pending: tuple[PromotionRequest, ...]
    incidents: tuple[Incident, ...]
    actor: Actor
    slo: tuple[SloPanel, ...] = ()
    kpis: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SloPanel(Result):
    """One service-level objective: its limit and the newest monitored chunk's measure."""

    name: str
    limit: float | None
    value: float | None
    chunk: str | None

    @property
    def met(self) -> bool | None:
        if self.limit is None or self.value is None:
            return None
        return self.value <= self.limit

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "met": self.met}


@use_case(Role.VIEWER, action="reading the overview")
def overview(keel: Keel, actor: Actor) -> Overview:
    """The champion, challengers and traffic split, pending approvals and open incidents."""
    from keel.app.monitoring import list_incidents  # noqa: PLC0415 - a plane of its own

    head, pending = keel.registry().status()
    live = [
        i
        for status in (IncidentStatus.OPEN, IncidentStatus.ACKED)
        for i in list_incidents(keel, status)
    ]
    slo, kpis = _service_levels(keel)
    kpis["review_backlog"] = _review_backlog(keel)
    return Overview(keel.project.name, head, tuple(pending), tuple(live), actor, slo, kpis)


REVIEW_COUNTED = 1000
"""The overview counts at most this many open review items (it shows "1000+" beyond)."""
KPI_CHUNKS = 50
"""The overview's KPIs cover the newest this many monitored chunks."""


def _service_levels(keel: Keel) -> tuple[tuple[SloPanel, ...], dict[str, Any]]:
    """The SLO panels and KPIs, from the newest stored chunk results (never the log)."""
    from keel.monitoring.service import MonitorService  # noqa: PLC0415

    spec = keel.monitor_spec()
    service = MonitorService(keel.project.name, keel.unit, keel.reader, utcnow, None)
    recent = sorted(service.chunks(limit=KPI_CHUNKS), key=lambda c: c.start)
    newest = recent[-1] if recent else None
    measured = (newest.results.get("slo") if newest else None) or {}
    limits = spec.slo.model_dump()
    names = ("p50_ms", "p99_ms", "fallback_rate", "ood_rate", "defer_rate")
    slo = tuple(
        SloPanel(name, limits.get(name), measured.get(name), newest.label if newest else None)
        for name in names
    )
    metric = spec.performance.metric

    def last(kind: str) -> float | None:
        for chunk in reversed(recent):
            found = (chunk.results.get(kind) or {}).get("metrics", {}).get(metric)
            if found is not None and found.get("value") is not None:
                return float(found["value"])
        return None

    kpis: dict[str, Any] = {
        "metric": metric,
        "monitored_rows": sum(c.rows for c in recent),
        "chunks": len(recent),
        "estimated": last("estimated"),
        "realized": last("realized"),
        "breaching_chunks": sum(1 for c in recent if c.breaches),
    }
    return slo, kpis


def _review_backlog(keel: Keel) -> str:
    """Open and claimed review items, counted up to ``REVIEW_COUNTED``."""
    from keel.app.review import list_items  # noqa: PLC0415 - a plane of its own
    from keel.decisions.review import ItemState  # noqa: PLC0415

    found = sum(
        len(list_items(keel, state=state, limit=REVIEW_COUNTED + 1))
        for state in (ItemState.OPEN, ItemState.CLAIMED)
    )
    return f"{REVIEW_COUNTED}+" if found > REVIEW_COUNTED else str(found)


@dataclass(frozen=True)
class DriftPoint(Result):
    chunk: str
    start: str
    value: float
    threshold: float
    drifted: bool


@dataclass(frozen=True)
class DriftSeries(Result):
    """One feature's drift statistic over the monitored chunks, against its threshold."""

    feature: str
    statistic: str
    points: tuple[DriftPoint, ...]


@use_case(Role.VIEWER, action="reading monitor results")
def drift_series(keel: Keel, actor: Actor, *, chunks: int = 200) -> list[DriftSeries]:
    """Per feature, the first drift statistic of each of the last ``chunks`` chunks (oldest
    first), with the threshold it was judged against. Reads the stored chunk results only."""
    from keel.monitoring.service import MonitorService  # noqa: PLC0415

    service = MonitorService(keel.project.name, keel.unit, keel.reader, utcnow, None)
    found: dict[tuple[str, str], list[DriftPoint]] = {}
    for chunk in sorted(service.chunks(limit=chunks), key=lambda c: c.start):
        for feature, column in chunk.results.get("drift", {}).get("columns", {}).items():
            statistics = column.get("statistics") or {}
            if not statistics:
                continue
            name, stat = next(iter(statistics.items()))
            point = DriftPoint(
                chunk.label,
                chunk.start.isoformat(),
                float(stat["value"]),
                float(stat["threshold"]),
                bool(stat["drifted"]),
            )
            found.setdefault((feature, name), []).append(point)
    return [DriftSeries(f, s, tuple(points)) for (f, s), points in sorted(found.items())]


@dataclass(frozen=True)
class ChunkPerformance(Result):
    """One monitored chunk's stored performance, calibration and service-level results."""

    chunk: str
    start: str
    rows: int
    estimated: dict[str, float | None] | None  # value, low, high of the monitored metric
    realized: dict[str, float | None] | None  # value, low, high, labelled
    reference: float | None
    calibration: dict[str, Any] | None  # mean_predicted, observed_rate, ece, ece_threshold
    slo: dict[str, float | None]


@dataclass(frozen=True)
class PerformanceSeries(Result):
    """The monitored metric over the chunks (oldest first) and the SLO limits it is held to."""

    metric: str
    points: tuple[ChunkPerformance, ...]
    slo_limits: dict[str, float | None]


@use_case(Role.VIEWER, action="reading monitor results")
def performance_series(keel: Keel, actor: Actor, *, chunks: int = 200) -> PerformanceSeries:
    """Estimated against realized performance, calibration and SLO measures per chunk, from
    the monitor's stored chunk results (the prediction log is not read)."""
    from keel.monitoring.service import MonitorService  # noqa: PLC0415

    spec = keel.monitor_spec()
    metric = spec.performance.metric
    service = MonitorService(keel.project.name, keel.unit, keel.reader, utcnow, None)
    points = []
    for chunk in sorted(service.chunks(limit=chunks), key=lambda c: c.start):
        found = chunk.results
        estimated = (found.get("estimated") or {}).get("metrics", {}).get(metric)
        realized_all = found.get("realized") or {}
        realized = realized_all.get("metrics", {}).get(metric)
        calibration = found.get("calibration")
        points.append(
            ChunkPerformance(
                chunk.label,
                chunk.start.isoformat(),
                chunk.rows,
                _interval(estimated),
                None
                if realized is None
                else {**_interval(realized), "labelled": realized_all.get("labelled")},  # type: ignore[dict-item]
                (found.get("reference") or {}).get(metric),
                None
                if calibration is None
                else {
                    k: calibration.get(k)
                    for k in ("rows", "mean_predicted", "observed_rate", "ece", "ece_threshold")
                }
                | {"holds": bool(calibration.get("holds"))},
                dict(found.get("slo") or {}),
            )
        )
    limits = spec.slo.model_dump()
    return PerformanceSeries(metric, tuple(points), limits)


def _interval(found: Mapping[str, Any] | None) -> dict[str, float | None] | None:
    if found is None:
        return None
    return {k: None if found.get(k) is None else float(found[k]) for k in ("value", "low", "high")}


WARMED = (
    "keel.monitoring.service",
    "keel.app.monitoring",
    "keel.app.review",
    "keel.app.agent",
    "keel.app.queries",
    "keel.decisions.queue",
    "keel.store.webhook",
)
"""The modules the pages load on their first use; ``warm_up`` loads them at start-up."""


@query(action="warming up the control plane")
def warm_up(keel: Keel) -> None:
    """Load what the first requests would otherwise load (the monitor's modules take seconds)
    and open the metadata database once, so the first request after start-up is as fast as
    the next."""
    import importlib  # noqa: PLC0415

    for name in WARMED:
        importlib.import_module(name)
    with keel.reader() as unit:
        unit.users.all()
