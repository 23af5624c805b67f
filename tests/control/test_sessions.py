"""Dashboard sessions over HTTP: the login form, the cookie's flags, CSRF on forms, and a
cookie that stops working after logout even if someone copied it."""

from __future__ import annotations

import re

import httpx

from tests.control.conftest import TIMEOUT, Plane


def login(plane: Plane, user: str, client: httpx.Client) -> httpx.Client:
    form = client.get("/login").text
    nonce = re.search(r'name="nonce" value="([^"]+)"', form)
    assert nonce is not None
    done = client.post(
        "/login", data={"api_key": plane.keys[user], "nonce": nonce.group(1), "next": "/"}
    )
    assert done.status_code == 303 and done.headers["location"] == "/", done.text
    return client


def test_the_session_cookie_is_httponly_strict_and_expires(plane: Plane) -> None:
    form = httpx.get(plane.server.url + "/login", timeout=TIMEOUT)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = httpx.post(
        plane.server.url + "/login",
        data={"api_key": plane.keys["vera"], "nonce": nonce},
        cookies=form.cookies,
        timeout=TIMEOUT,
    )
    header = next(v for v in answer.headers.get_list("set-cookie") if v.startswith("keel_session="))
    assert "HttpOnly" in header and "SameSite=strict" in header and "Max-Age=3600" in header
    assert "Secure" not in header  # plain http on loopback; --secure-cookies or https sets it


def test_a_wrong_key_shows_the_login_form_again(plane: Plane) -> None:
    with httpx.Client(base_url=plane.server.url, timeout=TIMEOUT) as client:
        nonce = re.search(r'name="nonce" value="([^"]+)"', client.get("/login").text).group(1)  # type: ignore[union-attr]
        answer = client.post("/login", data={"api_key": "keel_wrong", "nonce": nonce})
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login?error=")


def test_a_login_without_the_forms_nonce_is_refused(plane: Plane) -> None:
    answer = httpx.post(
        plane.server.url + "/login",
        data={"api_key": plane.keys["vera"], "nonce": "forged"},
        timeout=TIMEOUT,
    )
    assert answer.status_code == 303 and "session" not in answer.headers.get("set-cookie", "")


def test_a_form_without_the_csrf_token_changes_nothing(plane: Plane) -> None:
    with httpx.Client(base_url=plane.server.url, timeout=TIMEOUT) as client:
        login(plane, "ana", client)
        answer = client.post("/incidents/1/ack", data={"csrf": "forged", "note": "x"})
    assert answer.status_code == 401
    assert "CSRF" in answer.text
    assert (
        "acked"
        not in httpx.get(
            plane.server.url + "/api/v1/incidents/1",
            headers=plane.headers("vera"),
            timeout=TIMEOUT,
        ).json()["status"]
    )


def test_a_copied_cookie_stops_working_after_logout(plane: Plane) -> None:
    with httpx.Client(base_url=plane.server.url, timeout=TIMEOUT) as client:
        login(plane, "vera", client)
        stolen = dict(client.cookies)
        page = client.get("/")
        assert page.status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        assert client.post("/logout", data={"csrf": csrf}).status_code == 303
    thief = httpx.get(plane.server.url + "/", cookies=stolen, timeout=TIMEOUT)
    assert thief.status_code == 303 and thief.headers["location"].startswith("/login")
    api = httpx.get(plane.server.url + "/api/v1/status", cookies=stolen, timeout=TIMEOUT)
    assert api.status_code == 401  # the JSON API takes keys only, never a cookie


def test_keys_never_appear_in_pages_or_the_server_log(plane: Plane) -> None:
    with httpx.Client(base_url=plane.server.url, timeout=TIMEOUT) as client:
        login(plane, "root", client)
        for page in ("/", "/audit", "/models/1", "/releases"):
            text = client.get(page).text
            assert not any(key in text for key in plane.keys.values()), page
    assert not any(key in plane.server.output() for key in plane.keys.values())


def test_behind_a_tls_proxy_the_cookie_is_secure(plane: Plane) -> None:
    https = {"X-Forwarded-Proto": "https"}  # a proxy on loopback terminated TLS
    form = httpx.get(plane.server.url + "/login", headers=https, timeout=TIMEOUT)
    nonce = re.search(r'name="nonce" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
    answer = httpx.post(
        plane.server.url + "/login",
        data={"api_key": plane.keys["vera"], "nonce": nonce},
        headers=https | {"Cookie": f"keel_login={form.cookies['keel_login']}"},  # Secure
        timeout=TIMEOUT,
    )
    header = next(v for v in answer.headers.get_list("set-cookie") if v.startswith("keel_session="))
    assert "Secure" in header and "HttpOnly" in header
