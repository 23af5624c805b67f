"""The dashboard: server-rendered pages over the same use cases as the API and the CLI.

A person logs in with an API key (``/login``) and gets a session cookie (HttpOnly,
SameSite=Strict, Secure over TLS, expiring; its token is stored only as a hash, and logout ends
it). Every form that changes state carries the session's CSRF token; a page acts as the session's
user, and a refusal (approving one's own request) shows the same message the CLI prints.
Templates autoescape everything; scripts load from ``/static`` only (see the guard's CSP).
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from keel.api.auth import PUBLIC, SESSION_COOKIE, project, uses
from keel.api.release_tag import check_if_match, release_tag
from keel.api.schemas import ID_PATTERN
from keel.app import agent as agent_plane
from keel.app import control, data, logins, monitoring, queries, registry, review, training
from keel.app import project as project_plane
from keel.app.result import jsonable
from keel.app.session import as_caller
from keel.errors import InvalidInput, KeelError, Unauthenticated
from keel.identity.sessions import csrf_token
from keel.serving.http_status import http_status
from keel.wiring import Keel

HERE = Path(__file__).parent
LOGIN_COOKIE = "keel_login"
NAV = (
    ("/", "Overview"),
    ("/models", "Models"),
    ("/releases", "Releases"),
    ("/incidents", "Incidents"),
    ("/monitoring", "Monitoring"),
    ("/review", "Review"),
    ("/agent", "Agent"),
    ("/data", "Data"),
    ("/lineage", "Lineage"),
    ("/audit", "Audit"),
)
MAX_FIELD = 2000


async def _form(request: Request) -> dict[str, str]:
    """The fields of a urlencoded form (the guard already bounds the body's size); a field
    longer than ``MAX_FIELD`` is refused with its path."""
    kind = request.headers.get("content-type", "").split(";")[0].strip()
    if kind != "application/x-www-form-urlencoded":
        raise InvalidInput("forms are sent as application/x-www-form-urlencoded", path="body")
    text = (await request.body()).decode("utf-8", "replace")
    fields = dict(parse_qsl(text, keep_blank_values=True))
    for name, value in fields.items():
        if len(value) > MAX_FIELD:
            raise InvalidInput(f"{name} is longer than {MAX_FIELD} characters", path=f"body.{name}")
    return fields


FormData = Annotated[dict[str, str], Depends(_form)]

templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def warm_templates() -> None:
    """Compile every template now rather than on its page's first request."""
    for name in templates.list_templates(extensions=["html"]):
        templates.get_template(name)


def add_pages(app: FastAPI) -> None:
    """Mount the static files and add every page to ``app``."""
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    for path, methods, endpoint in ROUTES:
        app.add_api_route(
            path, endpoint, methods=methods, include_in_schema=False, response_class=HTMLResponse
        )


# ---------------------------------------------------------------- sessions


class _Page:
    """A request from a logged-in person: the project as their user, and their CSRF token."""

    def __init__(self, request: Request) -> None:
        self.request = request
        token = request.cookies.get(SESSION_COOKIE) or ""
        if not token:
            raise Unauthenticated("log in first", path="cookie")
        self.token = token
        self.keel: Keel = as_caller(project(request), logins.session_actor(project(request), token))
        self.csrf = csrf_token(token)

    def check_csrf(self, sent: str) -> None:
        if not hmac.compare_digest(sent.encode(), self.csrf.encode()):
            raise Unauthenticated(
                "the form's CSRF token does not match your session", path="body.csrf"
            )

    def render(self, template: str, code: int = 200, **context: Any) -> HTMLResponse:
        actor = self.keel.actor()
        body = templates.get_template(template).render(
            nav=NAV,
            here=self.request.url.path,
            user=actor,
            csrf=self.csrf,
            project=self.keel.project.name,
            done=self.request.query_params.get("done"),
            **context,
        )
        return HTMLResponse(body, code, headers={"Cache-Control": "no-store"})


def _guarded(build: Callable[[_Page], Response]) -> Callable[[Request], Response]:
    """Run a page; without a live session, go to the login form; a Keel error on a page is
    shown on it with the status the API would answer."""

    def run(request: Request) -> Response:
        try:
            page = _Page(request)
        except Unauthenticated:
            return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
        try:
            return build(page)
        except KeelError as error:
            return page.render(
                "error.html", http_status(error), error=error.message, hint=error.hint
            )

    return run


def _back(path: str, message: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={quote(message)}", 303)


# ---------------------------------------------------------------- login and logout


@uses(PUBLIC)
def login_form(request: Request, next: str = "/") -> HTMLResponse:
    nonce = secrets.token_urlsafe(24)
    body = templates.get_template("login.html").render(
        nonce=nonce, next=_local(next), error=request.query_params.get("error")
    )
    response = HTMLResponse(body, headers={"Cache-Control": "no-store"})
    response.set_cookie(
        LOGIN_COOKIE, nonce, max_age=600, httponly=True, samesite="strict", secure=_secure(request)
    )
    return response


@uses(logins.identify, logins.login)
def login(request: Request, form: FormData) -> Response:
    api_key, nonce = form.get("api_key", ""), form.get("nonce", "")
    expected = request.cookies.get(LOGIN_COOKIE) or ""
    keel = project(request)
    if not expected or not hmac.compare_digest(nonce.encode(), expected.encode()):
        return RedirectResponse("/login?error=" + quote("the login form expired; try again"), 303)
    try:
        actor = logins.identify(keel, api_key.strip())
    except Unauthenticated as error:
        return RedirectResponse("/login?error=" + quote(error.message), 303)
    hours = request.app.state.settings.session_hours
    opened = logins.login(as_caller(keel, actor), hours=hours)
    response = RedirectResponse(_local(form.get("next", "/")), 303)
    response.set_cookie(
        SESSION_COOKIE,
        opened.token,
        max_age=opened.expires_in_seconds,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_COOKIE)
    return response


@uses(logins.session_actor, logins.logout)
def logout(request: Request, form: FormData) -> Response:
    try:
        page = _Page(request)
    except Unauthenticated:
        return RedirectResponse("/login", 303)
    page.check_csrf(form.get("csrf", ""))
    logins.logout(page.keel, page.token)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def _secure(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies) or request.url.scheme == "https"


def _local(target: str) -> str:
    """Only paths on this server may be redirected to (never another origin)."""
    safe = target.startswith("/") and not target.startswith("//") and "\\" not in target
    return target if safe and target.isascii() and target.isprintable() else "/"


# ---------------------------------------------------------------- pages


@uses(logins.session_actor, control.overview)
def overview(request: Request) -> Response:
    def build(page: _Page) -> Response:
        found = control.overview(page.keel)
        return page.render("overview.html", overview=found.to_dict())

    return _guarded(build)(request)


@uses(logins.session_actor, registry.list_models, registry.release_status)
def models(request: Request) -> Response:
    def build(page: _Page) -> Response:
        listed = [m.to_dict() for m in registry.list_models(page.keel)]
        status = registry.release_status(page.keel).to_dict()
        return page.render("models.html", models=listed, pending=status["pending"])

    return _guarded(build)(request)


@uses(logins.session_actor, registry.show_model, registry.release_status, training.card)
def model(request: Request, version: int) -> Response:
    def build(page: _Page) -> Response:
        detail = registry.show_model(page.keel, version).to_dict()
        status = registry.release_status(page.keel).to_dict()
        pending = [p for p in status["pending"] if p["model_version"] == version]
        try:
            card = training.card(page.keel, detail["run_id"]).text
        except KeelError:
            card = None
        others = [m.model.version for m in registry.list_models(page.keel)]
        return page.render(
            "model.html",
            model=detail,
            pending=pending,
            tag=release_tag(page.keel),
            card=card,
            others=[v for v in others if v != version],
        )

    return _guarded(build)(request)


@uses(logins.session_actor, registry.show_model, training.compare)
def compare(
    request: Request,
    a: Annotated[int, Query(ge=1, le=2**31 - 1)],
    b: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Response:
    def build(page: _Page) -> Response:
        first = registry.show_model(page.keel, a).to_dict()
        second = registry.show_model(page.keel, b).to_dict()
        diff = training.compare(page.keel, first["run_id"], second["run_id"]).to_dict()
        gates = _gate_rows(first, second)
        return page.render("compare.html", a=first, b=second, diff=diff, gates=gates)

    return _guarded(build)(request)


def _gate_rows(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """The gate checks of both versions side by side, by check name."""
    checks: dict[str, dict[str, Any]] = {}
    for side, detail in (("a", a), ("b", b)):
        for check in (detail.get("gate") or {}).get("checks", []):
            checks.setdefault(check["name"], {"name": check["name"]})[side] = check
    return list(checks.values())


@uses(logins.session_actor, registry.reject)
def reject(request: Request, version: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        done = registry.reject(page.keel, version, note=form.get("note", ""))
        return _back(f"/models/{version}", f"{done.id} of v{version} rejected; the champion stays")

    return _guarded(build)(request)


@uses(logins.session_actor, registry.release_status, registry.approve)
def approve(request: Request, version: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        _if_match(page, form.get("tag", ""))
        done = registry.approve(page.keel, version, note=form.get("note", ""))
        what = "applied: a new champion serves" if done.release else "approval recorded"
        return _back(f"/models/{version}", f"v{version} approved, {what}")

    return _guarded(build)(request)


@uses(logins.session_actor, registry.release_status, registry.release_history)
def releases(request: Request) -> Response:
    def build(page: _Page) -> Response:
        status = registry.release_status(page.keel).to_dict()
        history = [jsonable(r) for r in registry.release_history(page.keel, limit=50)]
        return page.render(
            "releases.html", status=status, history=history, tag=release_tag(page.keel)
        )

    return _guarded(build)(request)


@uses(logins.session_actor, registry.release_status, registry.rollback)
def rollback(request: Request, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        if form.get("confirm") != "yes":
            return _back("/releases", "nothing rolled back: tick the confirmation box first")
        _if_match(page, form.get("tag", ""))
        done = registry.rollback(page.keel, reason=form.get("reason") or None)
        return _back("/releases", f"rolled back: {done.id} serves the state before")

    return _guarded(build)(request)


def _if_match(page: _Page, tag: str) -> None:
    """The release tag the form was drawn with must still be current (as the API's If-Match)."""
    scope = dict(page.request.scope)
    scope["headers"] = [(b"if-match", tag.encode())]
    check_if_match(Request(scope), page.keel)


@uses(logins.session_actor, monitoring.list_incidents)
def incidents(request: Request) -> Response:
    def build(page: _Page) -> Response:
        found = [i.to_dict() for i in monitoring.list_incidents(page.keel)]
        return page.render("incidents.html", incidents=found)

    return _guarded(build)(request)


@uses(logins.session_actor, monitoring.show_incident)
def incident(request: Request, seq: int) -> Response:
    def build(page: _Page) -> Response:
        found = monitoring.show_incident(page.keel, seq).to_dict()
        return page.render("incident.html", incident=found)

    return _guarded(build)(request)


@uses(logins.session_actor, monitoring.ack_incident)
def ack(request: Request, seq: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        monitoring.ack_incident(page.keel, seq, form.get("note") or None)
        return _back(f"/incidents/{seq}", f"incident #{seq} acknowledged")

    return _guarded(build)(request)


@uses(logins.session_actor, monitoring.resolve_incident)
def resolve(request: Request, seq: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        note = form.get("note") or "resolved from the dashboard"
        monitoring.resolve_incident(page.keel, seq, note)
        return _back(f"/incidents/{seq}", f"incident #{seq} resolved")

    return _guarded(build)(request)


@uses(logins.session_actor, control.drift_series, control.performance_series)
def monitoring_page(request: Request) -> Response:
    def build(page: _Page) -> Response:
        series = [s.to_dict() for s in control.drift_series(page.keel)]
        performance = control.performance_series(page.keel).to_dict()
        return page.render("monitoring.html", series=series, performance=performance)

    return _guarded(build)(request)


@uses(logins.session_actor, data.list_versions, data.list_quarantine)
def data_page(request: Request) -> Response:
    def build(page: _Page) -> Response:
        versions = [jsonable(v) for v in data.list_versions(page.keel)]
        batches = [jsonable(b) for b in data.list_quarantine(page.keel)]
        return page.render("data.html", versions=versions, batches=batches)

    return _guarded(build)(request)


@uses(logins.session_actor, data.replay)
def replay(request: Request, batch_id: str, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        _check_id(batch_id, "batch_id")
        done = data.replay(page.keel, batch_id).batch
        return _back("/data", f"{batch_id} replayed: {done.accepted:,} of {done.rows:,} accepted")

    return _guarded(build)(request)


@uses(logins.session_actor, queries.lineage)
def lineage(
    request: Request,
    prediction_id: Annotated[str | None, Query(max_length=128)] = None,
) -> Response:
    def build(page: _Page) -> Response:
        found = None
        if prediction_id:
            _check_id(prediction_id, "prediction_id")
            found = queries.lineage(page.keel, prediction_id).to_dict()
        return page.render("lineage.html", lineage=found, prediction_id=prediction_id or "")

    return _guarded(build)(request)


def _check_id(value: str, field: str) -> None:
    if not re.fullmatch(ID_PATTERN, value):
        raise InvalidInput(f"{field}: letters, digits and . _ : - only, at most 128", path=field)


@uses(logins.session_actor, project_plane.audit_log, project_plane.verify_audit)
def audit(request: Request) -> Response:
    def build(page: _Page) -> Response:
        events = [jsonable(e) for e in project_plane.audit_log(page.keel, limit=200)]
        verified = jsonable(project_plane.verify_audit(page.keel))
        return page.render("audit.html", events=events, verified=verified)

    return _guarded(build)(request)


@uses(logins.session_actor, training.list_runs)
def runs(request: Request) -> Response:
    def build(page: _Page) -> Response:
        found = [r.to_dict() for r in training.list_runs(page.keel, limit=100)]
        return page.render("runs.html", runs=found)

    return _guarded(build)(request)


# ---------------------------------------------------------------- review queue


@uses(logins.session_actor, review.list_items, review.review_stats)
def review_page(
    request: Request,
    state: Annotated[str | None, Query(pattern=r"^(open|claimed|resolved|escalated)$")] = None,
) -> Response:
    def build(page: _Page) -> Response:
        from keel.decisions.review import ItemState  # noqa: PLC0415

        wanted = ItemState(state) if state else None
        items = [i.to_dict() for i in review.list_items(page.keel, state=wanted, limit=100)]
        return page.render("review.html", items=items, state=state or "", me=page.keel.actor().name)

    return _guarded(build)(request)


@uses(logins.session_actor, review.claim_item)
def claim(request: Request, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        wanted = form.get("item", "")
        if wanted and not wanted.isdigit():
            raise InvalidInput("item must be a number", path="body.item")
        item = review.claim_item(page.keel, int(wanted) if wanted else None)
        return _back("/review", f"item {item.id} claimed until {item.to_dict().get('lease_until')}")

    return _guarded(build)(request)


@uses(logins.session_actor, review.resolve_item)
def resolve_review(request: Request, item: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        raw = form.get("label", "").strip()
        try:
            label = float(raw) if raw else None
        except ValueError:
            raise InvalidInput("label must be a number", path="body.label") from None
        done = review.resolve_item(
            page.keel,
            item,
            decision=form.get("decision", ""),
            label=label,
            note=form.get("note", ""),
        )
        return _back("/review", f"item {item} reviewed: now {done.state.value}")

    return _guarded(build)(request)


@uses(logins.session_actor, review.release_item)
def release_review(request: Request, item: int, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        review.release_item(page.keel, item)
        return _back("/review", f"item {item} handed back to the queue")

    return _guarded(build)(request)


# ---------------------------------------------------------------- agent


@uses(logins.session_actor, agent_plane.status, agent_plane.plan, agent_plane.history)
def agent_page(request: Request) -> Response:
    def build(page: _Page) -> Response:
        state = agent_plane.status(page.keel).to_dict()
        planned = agent_plane.plan(page.keel).to_dict()
        journal = [a.to_dict() for a in agent_plane.history(page.keel, limit=50)]
        return page.render("agent.html", status=state, plan=planned, journal=journal)

    return _guarded(build)(request)


@uses(logins.session_actor, agent_plane.pause)
def agent_pause(request: Request, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        agent_plane.pause(page.keel, reason=form.get("reason") or None)
        return _back("/agent", "the agent is paused: it starts nothing more")

    return _guarded(build)(request)


@uses(logins.session_actor, agent_plane.resume)
def agent_resume(request: Request, form: FormData) -> Response:
    def build(page: _Page) -> Response:
        page.check_csrf(form.get("csrf", ""))
        agent_plane.resume(page.keel)
        return _back("/agent", "the agent resumed: its next pass goes on")

    return _guarded(build)(request)


ROUTES: list[tuple[str, list[str], Callable[..., Any]]] = [
    ("/login", ["GET"], login_form),
    ("/login", ["POST"], login),
    ("/logout", ["POST"], logout),
    ("/", ["GET"], overview),
    ("/models", ["GET"], models),
    ("/models/{version:int}", ["GET"], model),
    ("/models/{version:int}/approve", ["POST"], approve),
    ("/models/{version:int}/reject", ["POST"], reject),
    ("/models/compare", ["GET"], compare),
    ("/releases", ["GET"], releases),
    ("/releases/rollback", ["POST"], rollback),
    ("/incidents", ["GET"], incidents),
    ("/incidents/{seq:int}", ["GET"], incident),
    ("/incidents/{seq:int}/ack", ["POST"], ack),
    ("/incidents/{seq:int}/resolve", ["POST"], resolve),
    ("/monitoring", ["GET"], monitoring_page),
    ("/data", ["GET"], data_page),
    ("/data/quarantine/{batch_id}/replay", ["POST"], replay),
    ("/lineage", ["GET"], lineage),
    ("/audit", ["GET"], audit),
    ("/runs", ["GET"], runs),
    ("/review", ["GET"], review_page),
    ("/review/claim", ["POST"], claim),
    ("/review/{item:int}/resolve", ["POST"], resolve_review),
    ("/review/{item:int}/release", ["POST"], release_review),
    ("/agent", ["GET"], agent_page),
    ("/agent/pause", ["POST"], agent_pause),
    ("/agent/resume", ["POST"], agent_resume),
]
