"""The review queue, agent, model card and comparison, rejection, monitoring and overview pages
in a real headless Chromium against a real ``keel server``: each state-changing form works
for a person with the role and shows the refusal to one without it; data is shown as text,
never markup; each page is saved as a screenshot (``screens/`` under the session's temp)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.app import review
from keel.app.session import open_project
from tests.control.conftest import Plane, start_plane
from tests.control.test_dashboard import log_in, log_out
from tests.e2e.cdp import Browser

MARKUP = "<img src=x id=injected>"


@pytest.fixture(scope="module")
def site(
    template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Plane, Browser, Path]]:
    tmp = tmp_path_factory.mktemp("dashboard-pages")
    for plane in start_plane(template, tmp):
        keel = open_project(plane.folder, api_key=plane.keys["root"])
        try:
            review.sync_review(keel, full=True)  # items from the logged predictions
        finally:
            keel.close()
        browser = Browser(tmp / "profile")
        try:
            yield plane, browser, tmp_path_factory.getbasetemp() / "screens"
        finally:
            browser.close()


def injected(browser: Browser) -> bool:
    return bool(browser.evaluate("document.querySelector('#injected') !== null"))


def test_reject_a_promotion_with_a_note(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    url = plane.server.url
    log_in(site, "vera")  # a viewer cannot reject
    browser.goto(url + "/models/2")
    browser.submit("#reject", fill={"#reject-note": "no"})
    assert browser.text("#error") == "rejecting v2 needs the approver role; vera is viewer"
    log_out(browser)

    log_in(site, "root")
    browser.goto(url + "/models/2")
    browser.submit("#reject", fill={"#reject-note": ""})  # a rejection says why
    assert browser.text("#error") == "a rejection needs a note saying why"
    browser.goto(url + "/models/2")
    browser.submit("#reject", fill={"#reject-note": f"calibration off {MARKUP}"})
    assert "v2 rejected; the champion stays" in browser.text("#flash")
    browser.screenshot(screens / "rejected.png")
    browser.goto(url + "/")
    assert (browser.text("#champion"), browser.text("#pending")) == ("v1", "0")
    browser.goto(url + "/audit")
    assert f"calibration off {MARKUP}" in browser.text("table")
    assert not injected(browser)
    log_out(browser)


def test_model_card_and_comparison(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    log_in(site, "vera")
    browser.goto(plane.server.url + "/models/2")
    assert "Benchmark" in browser.text("#model-card")
    browser.screenshot(screens / "model-card.png")
    browser.submit("#compare")
    assert browser.text("h1") == "Compare v2 and v1"
    assert "roc_auc" in browser.text("#compare-metrics")
    assert browser.text("#compare-params").split("\n")[1:] == ["seed\t7\t42"]
    browser.screenshot(screens / "compare.png")
    log_out(browser)


def test_review_queue_claim_and_resolve(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    url = plane.server.url
    log_in(site, "vera")  # a viewer reads the queue but cannot claim
    browser.goto(url + "/review")
    assert browser.evaluate("document.querySelectorAll('#review-items tr').length") > 2
    browser.submit("#claim-next")
    assert browser.text("#error").startswith("claiming a review item needs the reviewer role")
    log_out(browser)

    log_in(site, "ana")
    browser.goto(url + "/review")
    browser.submit("#claim-next")
    flash = browser.text("#flash")
    assert flash.startswith("item ") and " claimed until " in flash, flash
    item = flash.split()[1]
    row = f"#item-{item}"
    assert browser.text(f"{row} .state").startswith("claimed")
    browser.submit(
        f"{row} .resolve",
        fill={
            f"{row} input[name=decision]": f"decline {MARKUP}",
            f"{row} input[name=label]": "1",
        },
    )
    assert browser.text("#flash").startswith(f"item {item} reviewed: now ")
    browser.goto(url + "/review?state=resolved")
    if browser.evaluate(f"document.querySelector('{row}') !== null"):
        assert f"decline {MARKUP}" in browser.text(row)
    assert not injected(browser)
    browser.goto(url + "/review")
    browser.screenshot(screens / "review.png")
    log_out(browser)


def test_agent_plan_journal_pause_and_resume(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    url = plane.server.url
    log_in(site, "vera")
    browser.goto(url + "/agent")
    assert browser.text("#agent-state") == "running"
    browser.submit("#pause", fill={"#pause-reason": "no"})
    assert browser.text("#error") == "pausing the agent needs the operator role; vera is viewer"
    log_out(browser)

    log_in(site, "ana")
    browser.goto(url + "/agent")
    browser.submit("#pause", fill={"#pause-reason": f"incident {MARKUP}"})
    assert "the agent is paused" in browser.text("#flash")
    assert browser.text("#agent-state") == "paused"
    assert f"incident {MARKUP}" in browser.text(".cards")
    assert not injected(browser)
    browser.screenshot(screens / "agent.png")
    browser.submit("#resume")
    assert browser.text("#agent-state") == "running"
    log_out(browser)


def test_monitoring_and_overview_panels(site: tuple[Plane, Browser, Path]) -> None:
    plane, browser, screens = site
    url = plane.server.url
    log_in(site, "vera")
    browser.goto(url + "/monitoring")
    browser.wait_for(
        "document.querySelector('#performance canvas') !== null"
        " && document.querySelector('#reliability canvas') !== null"
        " && document.querySelector('#ece canvas') !== null"
    )
    assert "rows 1-500" in browser.text("#performance-table")
    browser.screenshot(screens / "monitoring-performance.png")
    browser.goto(url + "/")
    assert browser.text("#kpi-rows") == "1,500"
    assert browser.text("#kpi-realized") != "n/a"
    slo = browser.text("#slo")
    assert "p99_ms" in slo and "fallback_rate" in slo
    assert browser.text("#review-backlog") not in ("", "0")
    browser.screenshot(screens / "overview-slo.png")
    assert browser.events("Runtime.exceptionThrown") == []
    log_out(browser)
