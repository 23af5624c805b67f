"""The dashboard in a real headless Chromium against a real ``keel server``: log in with a key,
refuse an approval of one's own request, approve as a second user and see the champion change,
resolve an incident, follow a prediction's lineage, roll back with confirmation; every response
carries the strict CSP, no request leaves 127.0.0.1, and each page is saved as a screenshot
(under the session's temp folder, ``screens/``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.conftest import logged
from tests.control.conftest import Plane, start_plane
from tests.e2e.cdp import Browser


@pytest.fixture(scope="module")
def site(
    template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Plane, Browser, Path]]:
    tmp = tmp_path_factory.mktemp("dashboard")
    for plane in start_plane(template, tmp):
        browser = Browser(tmp / "profile")
        try:
            yield plane, browser, tmp_path_factory.getbasetemp() / "screens"
        finally:
            browser.close()


def log_in(site: tuple[Plane, Browser, Path], user: str) -> Browser:
    plane, browser, _ = site
    browser.goto(plane.server.url + "/login")
    browser.submit("#login", fill={"#api_key": plane.keys[user]})
    assert browser.text(".who").startswith(user), browser.text()
    return browser


def log_out(browser: Browser) -> None:
    browser.submit("#logout")
    assert "API key" in browser.text()


def test_an_approver_cannot_approve_their_own_request(site: tuple[Plane, Browser, Path]) -> None:
    plane, _, screens = site
    browser = log_in(site, "omar")
    browser.goto(plane.server.url + "/models/2")
    browser.submit("#approve", fill={"input[name=note]": "my own"})
    assert browser.text("#error") == "omar requested the promotion of v2 and cannot approve it"
    browser.screenshot(screens / "refused-own-approval.png")
    log_out(browser)


def test_a_second_approver_approves_and_the_champion_changes(
    site: tuple[Plane, Browser, Path],
) -> None:
    plane, _, screens = site
    browser = log_in(site, "root")
    assert browser.text("#champion") == "v1"
    assert browser.text("#pending") == "1"
    browser.goto(plane.server.url + "/models/2")
    browser.screenshot(screens / "model.png")
    browser.submit("#approve", fill={"input[name=note]": "<b>read</b> the card"})
    assert "v2 approved, applied" in browser.text("#flash")
    browser.goto(plane.server.url + "/")
    assert browser.text("#champion") == "v2"
    assert browser.text("#pending") == "0"
    browser.screenshot(screens / "overview.png")


def test_an_operator_resolves_an_incident(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    browser.goto(plane.server.url + "/incidents/1")
    assert browser.text("#status") in ("open", "acked")
    browser.submit("#resolve", fill={"#resolve-note": "retrained on <fixed> data"})
    assert browser.text("#status") == "resolved"
    assert "retrained on <fixed> data" in browser.text("table")  # shown as text, escaped
    browser.screenshot(screens / "incident.png")
    browser.goto(plane.server.url + "/incidents")
    browser.screenshot(screens / "incidents.png")


def test_a_predictions_lineage_is_followed_to_its_batches(
    site: tuple[Plane, Browser, Path],
) -> None:
    plane, browser, screens = site
    prediction = next(row for row in logged(plane.folder) if row["route"] != "shadow")
    browser.goto(plane.server.url + "/lineage")
    browser.evaluate(
        "document.querySelector('#prediction_id').value = "
        f"'{prediction['prediction_id']}'; document.querySelector('#follow').click()"
    )
    browser.wait_for("document.querySelector('#lineage-run') !== null")  # drawn by htmx
    assert browser.text("#lineage-prediction") == prediction["prediction_id"]
    assert browser.text("#lineage-run").startswith("r-")
    assert browser.text("#lineage-data").startswith("v1")
    browser.screenshot(screens / "lineage.png")


def test_a_rollback_needs_its_confirmation(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    browser.goto(plane.server.url + "/releases")
    browser.submit("#rollback", fill={"input[name=reason]": "too soon"})
    assert "nothing rolled back" in browser.text("#flash")
    assert browser.text("#champion") == "v2"
    browser.evaluate("document.querySelector('#confirm').checked = true")
    browser.submit("#rollback", fill={"input[name=reason]": "too soon"})
    assert "rolled back" in browser.text("#flash")
    assert browser.text("#champion") == "v1"
    browser.screenshot(screens / "releases.png")


@pytest.mark.parametrize(
    ("path", "ready"),
    [
        ("/monitoring", "document.querySelectorAll('.drift-chart canvas').length > 3"),
        ("/data", "document.querySelector('table') !== null"),
        ("/audit", "document.querySelector('#verified').innerText == 'verified'"),
        ("/models", "document.querySelector('table') !== null"),
        ("/runs", "document.querySelector('table') !== null"),
    ],
    ids=lambda v: v.strip("/") if v.startswith("/") else "",
)
def test_every_page_draws(site: tuple[Plane, Browser, Path], path: str, ready: str) -> None:
    plane, browser, screens = site
    browser.goto(plane.server.url + path)
    browser.wait_for(ready)
    browser.screenshot(screens / f"{path.strip('/')}.png")


def test_the_csp_holds_and_no_request_leaves_loopback(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, _ = site
    requests = browser.requests()
    assert len(requests) > 20
    hosts = {urlsplit(url).hostname for url in requests if not url.startswith(("data:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    ours = [r for r in browser.responses() if r["url"].startswith(plane.server.url)]
    assert ours
    for response in ours:
        headers = {k.lower(): v for k, v in response["headers"].items()}
        assert headers["content-security-policy"].startswith(
            "default-src 'self'; script-src 'self'"
        )
    assert not [line for line in browser.console() if "Content Security Policy" in line]
    assert browser.events("Runtime.exceptionThrown") == []  # every script ran cleanly
