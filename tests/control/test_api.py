"""The control-plane REST API on a real ``keel server``: every operation as its user, the
problem bodies, pagination, ETag/If-Match on release changes, and the guard's refusals."""

from __future__ import annotations

import httpx
import pytest

from tests.control.conftest import TIMEOUT, Plane

PROBLEM = "application/problem+json"


def get(plane: Plane, path: str, user: str = "vera", **kwargs: object) -> httpx.Response:
    return httpx.get(
        plane.server.url + path, headers=plane.headers(user), timeout=TIMEOUT, **kwargs
    )  # type: ignore[arg-type]


def post(plane: Plane, path: str, user: str, body: object, **headers: str) -> httpx.Response:
    return httpx.post(
        plane.server.url + path, json=body, headers=plane.headers(user) | headers, timeout=TIMEOUT
    )


def assert_problem(response: httpx.Response, status: int, path: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["title"] and body["detail"]
    if path is not None:
        assert body["path"] == path, body
    return body


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/status",
        "/api/v1/overview",
        "/api/v1/data/versions",
        "/api/v1/data/versions/v1",
        "/api/v1/quarantine?all=true",
        "/api/v1/runs",
        "/api/v1/models",
        "/api/v1/models/1",
        "/api/v1/release",
        "/api/v1/release/history",
        "/api/v1/incidents",
        "/api/v1/incidents/1",
        "/api/v1/monitor/drift",
        "/api/v1/audit",
        "/api/v1/audit/verify",
    ],
)
def test_a_viewer_reads_every_listing_and_record(plane: Plane, path: str) -> None:
    response = get(plane, path)
    assert response.status_code == 200, response.text
    assert response.headers["content-security-policy"].startswith("default-src 'self'")


def test_the_status_names_the_caller_not_the_local_admin(plane: Plane) -> None:
    assert get(plane, "/api/v1/status").json()["actor"] == {
        "name": "vera",
        "role": "viewer",
        "via": "api-key",
    }


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 401), ({"Authorization": "Bearer keel_not-a-key"}, 401), ({"X-API-Key": "nope"}, 401)],
    ids=["no-key", "unknown-bearer", "unknown-x-api-key"],
)
def test_a_request_without_a_valid_key_is_401_never_the_local_admin(
    plane: Plane, headers: dict[str, str], status: int
) -> None:
    response = httpx.get(plane.server.url + "/api/v1/status", headers=headers, timeout=TIMEOUT)
    assert_problem(response, status, "authorization")


def test_the_x_api_key_header_works_too(plane: Plane) -> None:
    response = httpx.get(
        plane.server.url + "/api/v1/models",
        headers={"X-API-Key": plane.keys["vera"]},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200


def test_the_use_case_decides_the_role_a_viewer_cannot_resolve(plane: Plane) -> None:
    body = assert_problem(post(plane, "/api/v1/incidents/1/resolve", "vera", {"note": "x"}), 403)
    assert "needs the operator role; vera is viewer" in body["detail"]


def test_listings_page_with_a_cursor_and_a_maximum(plane: Plane) -> None:
    first = get(plane, "/api/v1/audit?limit=3").json()
    assert len(first["items"]) == 3 and first["next_cursor"]
    second = get(plane, f"/api/v1/audit?limit=3&cursor={first['next_cursor']}").json()
    seqs = [e["seq"] for e in first["items"] + second["items"]]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 6
    assert_problem(get(plane, "/api/v1/audit?limit=100000"), 422, "query.limit")
    assert_problem(get(plane, "/api/v1/audit?cursor=bm9wZQ"), 422, "query.cursor")


def test_release_changes_need_a_current_etag(plane: Plane) -> None:
    tag = get(plane, "/api/v1/release").headers["etag"]
    assert_problem(post(plane, "/api/v1/release/shadow", "ana", {"version": 2}), 428, "if-match")
    assert_problem(
        post(plane, "/api/v1/release/shadow", "ana", {"version": 2}, **{"If-Match": '"stale"'}),
        412,
        "if-match",
    )
    done = post(plane, "/api/v1/release/shadow", "ana", {"version": 2}, **{"If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()["shadow"] == [2]
    # the first tag is stale now: a second person acting on the old view is refused
    again = post(plane, "/api/v1/release/rollback", "ana", {"reason": "x"}, **{"If-Match": tag})
    assert_problem(again, 412, "if-match")
    undo = post(
        plane,
        "/api/v1/release/rollback",
        "ana",
        {"reason": "undo"},
        **{"If-Match": done.headers["etag"]},
    )
    assert undo.status_code == 200 and undo.json()["shadow"] == []
    paused = post(
        plane,
        "/api/v1/release/pause",
        "ana",
        {"reason": "drill"},
        **{"If-Match": undo.headers["etag"]},
    )
    assert paused.status_code == 200, paused.text
    assert paused.json()["paused"] is True and paused.json()["action"] == "pause"
    stale = post(plane, "/api/v1/release/resume", "ana", {}, **{"If-Match": undo.headers["etag"]})
    assert_problem(stale, 412, "if-match")
    resumed = post(
        plane, "/api/v1/release/resume", "ana", {}, **{"If-Match": paused.headers["etag"]}
    )
    assert resumed.status_code == 200 and resumed.json()["paused"] is False


def test_approving_ones_own_request_is_refused_then_another_approver_applies_it(
    plane: Plane,
) -> None:
    tag = get(plane, "/api/v1/release").headers["etag"]
    mine = post(plane, "/api/v1/models/2/approve", "omar", {"note": "mine"}, **{"If-Match": tag})
    body = assert_problem(mine, 403)
    assert body["detail"] == "omar requested the promotion of v2 and cannot approve it"
    assert body["hint"].startswith("four-eyes")
    done = post(plane, "/api/v1/models/2/approve", "root", {"note": "ok"}, **{"If-Match": tag})
    assert done.status_code == 200, done.text
    assert done.json()["release"]["champion"] == 2
    assert get(plane, "/api/v1/release").json()["champion"] == 2


@pytest.mark.parametrize(
    ("path", "status", "field"),
    [
        ("/api/v1/nothing-here", 404, None),
        ("/api/v1/models/0", 422, "path.version"),
        ("/api/v1/models/99", 404, None),
        ("/api/v1/models/abc", 422, "path.version"),
        ("/api/v1/runs/..%2F..%2Fetc%2Fpasswd", 400, "path"),
        ("/api/v1/runs/%2e%2e", 400, "path"),
        ("/api/v1/runs/a%00b", 400, "path"),
        ("/api/v1/runs/%C3%A9t%C3%A9", 400, "path"),
        ("/api/v1/runs/" + "r" * 600, 400, "path"),
        ("/api/v1/runs/" + "r" * 200, 422, "path.run_id"),
        ("/api/v1/runs/r;drop", 422, "path.run_id"),
        ("/api/v1/lineage/unknown-id", 404, None),
        ("/api/v1/incidents?status=gone", 422, "query.status"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_paths_are_refused_cleanly(
    plane: Plane, path: str, status: int, field: str | None
) -> None:
    assert_problem(get(plane, path), status, field)


def test_a_wrong_method_is_a_problem_too(plane: Plane) -> None:
    response = httpx.delete(
        plane.server.url + "/api/v1/models", headers=plane.headers("vera"), timeout=TIMEOUT
    )
    assert_problem(response, 405)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "x" * 3000}, "body.note"),
        ({"note": 5}, "body.note"),
        ({"nope": 1}, "body.nope"),
    ],
    ids=["long-note", "typed-note", "unknown-field"],
)
def test_bad_bodies_name_their_field(plane: Plane, body: object, field: str) -> None:
    assert_problem(post(plane, "/api/v1/incidents/1/ack", "ana", body), 422, field)


def test_an_oversized_body_is_413(plane: Plane) -> None:
    big = {"note": "x" * (2 << 20)}
    assert_problem(post(plane, "/api/v1/incidents/1/ack", "ana", big), 413, "body")


def test_the_openapi_document_lists_every_api_route(plane: Plane) -> None:
    document = httpx.get(plane.server.url + "/openapi.json", timeout=TIMEOUT).json()
    paths = document["paths"]
    for path in ("/api/v1/release/promote", "/api/v1/incidents/{seq}/resolve", "/api/v1/audit"):
        assert path in paths
    assert not any(p.startswith("/login") for p in paths)


def test_an_operator_acks_and_resolves_an_incident(plane: Plane) -> None:
    acked = post(plane, "/api/v1/incidents/2/ack", "ana", {"note": "looking"})
    assert acked.status_code in (200, 409), acked.text
    done = post(plane, "/api/v1/incidents/2/resolve", "ana", {"note": "fixed upstream"})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "resolved"
    timeline = get(plane, "/api/v1/incidents/2").json()
    assert [e["kind"] for e in timeline["events"]][-1] == "resolve"
