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


PAGES = [
    ("/monitoring", "document.querySelectorAll('.drift-chart canvas').length > 3"),
    ("/data", "document.querySelector('table') !== null"),
    ("/audit", "document.querySelector('#verified').innerText == 'verified'"),
    ("/models", "document.querySelector('table') !== null"),
    ("/runs", "document.querySelector('table') !== null"),
]


def test_people_decide_and_act_in_the_dashboard(site: tuple[Plane, Browser, Path]) -> None:
    """One journey in one browser (its steps build on each other, so they stay one test)."""
    plane, browser, screens = site
    url = plane.server.url

    # an approver cannot approve the promotion they requested: the CLI's refusal, word for word
    log_in(site, "omar")
    browser.goto(url + "/models/2")
    browser.submit("#approve", fill={"input[name=note]": "my own"})
    assert browser.text("#error") == "omar requested the promotion of v2 and cannot approve it"
    browser.screenshot(screens / "refused-own-approval.png")
    log_out(browser)

    # a second approver approves, and the overview shows the new champion
    log_in(site, "root")
    assert (browser.text("#champion"), browser.text("#pending")) == ("v1", "1")
    browser.goto(url + "/models/2")
    browser.screenshot(screens / "model.png")
    browser.submit("#approve", fill={"input[name=note]": "<b>read</b> the card"})
    assert "v2 approved, applied" in browser.text("#flash")
    browser.goto(url + "/")
    assert (browser.text("#champion"), browser.text("#pending")) == ("v2", "0")
    browser.screenshot(screens / "overview.png")

    # an incident is resolved; the note is shown as text, not markup
    browser.goto(url + "/incidents/1")
    assert browser.text("#status") in ("open", "acked")
    browser.submit("#resolve", fill={"#resolve-note": "retrained on <fixed> data"})
    assert browser.text("#status") == "resolved"
    assert "retrained on <fixed> data" in browser.text("table")
    browser.screenshot(screens / "incident.png")
    browser.goto(url + "/incidents")
    browser.screenshot(screens / "incidents.png")

    # a prediction's lineage, fetched by htmx: model, run, dataset version, batches
    prediction = next(row for row in logged(plane.folder) if row["route"] != "shadow")
    browser.goto(url + "/lineage")
    browser.evaluate(
        "document.querySelector('#prediction_id').value = "
        f"'{prediction['prediction_id']}'; document.querySelector('#follow').click()"
    )
    browser.wait_for("document.querySelector('#lineage-run') !== null")
    assert browser.text("#lineage-prediction") == prediction["prediction_id"]
    assert browser.text("#lineage-run").startswith("r-")
    assert browser.text("#lineage-data").startswith("v1")
    browser.screenshot(screens / "lineage.png")

    # a rollback needs its confirmation box
    browser.goto(url + "/releases")
    browser.submit("#rollback", fill={"input[name=reason]": "too soon"})
    assert "nothing rolled back" in browser.text("#flash")
    assert browser.text("#champion") == "v2"
    browser.evaluate("document.querySelector('#confirm').checked = true")
    browser.submit("#rollback", fill={"input[name=reason]": "too soon"})
    assert "rolled back" in browser.text("#flash")
    assert browser.text("#champion") == "v1"
    browser.screenshot(screens / "releases.png")

    # every other page draws (the drift charts with uPlot)
    for path, ready in PAGES:
        browser.goto(url + path)
        browser.wait_for(ready)
        browser.screenshot(screens / f"{path.strip('/')}.png")

    # the CSP held on every answer, no script failed, and nothing left 127.0.0.1
    requests = browser.requests()
    assert len(requests) > 20
    hosts = {urlsplit(u).hostname for u in requests if not u.startswith(("data:", "about:"))}
    assert hosts == {"127.0.0.1"}, hosts
    ours = [r for r in browser.responses() if r["url"].startswith(url)]
    for response in ours:
        headers = {k.lower(): v for k, v in response["headers"].items()}
        csp = headers["content-security-policy"]
        assert csp.startswith("default-src 'self'; script-src 'self'")
    assert not [line for line in browser.console() if "Content Security Policy" in line]
    assert browser.events("Runtime.exceptionThrown") == []
