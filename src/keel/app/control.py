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
from dataclasses import dataclass, fields
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
    return Overview(keel.project.name, head, tuple(pending), tuple(live), actor)


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
