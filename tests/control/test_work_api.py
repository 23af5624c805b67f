"""The review queue and the agent over the control-plane API, on a real ``keel server``: each
operation as a user with the role and refused to one without it, listings paged, and bad
parameters answered with a problem naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.app import review
from keel.app.session import open_project
from tests.control.conftest import Plane, start_plane
from tests.control.test_api import assert_problem, get, post


@pytest.fixture(scope="module")
def work(
    template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Plane]:
    for plane in start_plane(template, tmp_path_factory.mktemp("work")):
        keel = open_project(plane.folder, api_key=plane.keys["root"])
        try:
            review.sync_review(keel, full=True)  # items from the logged predictions
        finally:
            keel.close()
        yield plane


def test_the_queue_lists_in_pages_and_filters_by_state(work: Plane) -> None:
    first = get(work, "/api/v1/review/items", params={"limit": 2})
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    after = get(work, "/api/v1/review/items", params={"limit": 2, "cursor": body["next_cursor"]})
    seen = {i["item"] for i in body["items"]} | {i["item"] for i in after.json()["items"]}
    assert len(seen) == 4
    everything = get(work, "/api/v1/review/items", params={"limit": 500}).json()["items"]
    assert [i["item"] for i in everything[:4]] == [
        *(i["item"] for i in body["items"]),
        *(i["item"] for i in after.json()["items"]),
    ]
    opened = get(work, "/api/v1/review/items", params={"state": "open", "limit": 500}).json()
    assert opened["items"] and {i["state"] for i in opened["items"]} == {"open"}
    assert_problem(get(work, "/api/v1/review/items", params={"state": "lost"}), 422, "query.state")


def test_a_reviewer_claims_resolves_and_a_viewer_is_refused(work: Plane) -> None:
    refused = post(work, "/api/v1/review/claim", "vera", {})
    assert "needs the reviewer role" in assert_problem(refused, 403)["detail"]
    claimed = post(work, "/api/v1/review/claim", "root", {})
    assert claimed.status_code == 200, claimed.text
    item = claimed.json()
    assert (item["state"], item["holder"]) == ("claimed", "root")
    shown = get(work, f"/api/v1/review/items/{item['item']}").json()
    assert shown["holder"] == "root" and shown["decisions"] == []

    no_decision = post(work, f"/api/v1/review/items/{item['item']}/resolve", "root", {"note": "x"})
    assert_problem(no_decision, 422, "body.decision")
    done = post(
        work,
        f"/api/v1/review/items/{item['item']}/resolve",
        "root",
        {"decision": "approve", "note": "income verified"},
    )
    assert done.status_code == 200, done.text
    shown = get(work, f"/api/v1/review/items/{item['item']}").json()
    assert [(d["reviewer"], d["decision"]) for d in shown["decisions"]] == [("root", "approve")]
    assert shown["state"] in ("resolved", "open")  # a second review may be needed

    other = post(work, "/api/v1/review/claim", "root", {}).json()
    handed = post(work, f"/api/v1/review/items/{other['item']}/release", "root", {})
    assert handed.status_code == 200 and handed.json()["state"] == "open", handed.text
    unclaimed = post(
        work, f"/api/v1/review/items/{other['item']}/resolve", "root", {"decision": "approve"}
    )
    assert "is not claimed by root" in assert_problem(unclaimed, 409)["detail"]
    assert_problem(get(work, "/api/v1/review/items/999999"), 404)


def test_review_stats_answer_and_check_their_confidence(work: Plane) -> None:
    stats = get(work, "/api/v1/review/stats")
    assert stats.status_code == 200, stats.text
    assert sum(stats.json()["states"].values()) > 0
    assert_problem(get(work, "/api/v1/review/stats", params={"confidence": 2}), 422)


def test_the_agent_reads_for_a_viewer_and_pauses_for_an_operator(work: Plane) -> None:
    status = get(work, "/api/v1/agent")
    assert status.status_code == 200, status.text
    assert get(work, "/api/v1/agent/plan").status_code == 200
    journal = get(work, "/api/v1/agent/journal")
    assert journal.status_code == 200 and "items" in journal.json()
    assert_problem(get(work, "/api/v1/agent/journal/999"), 404)

    refused = post(work, "/api/v1/agent/pause", "vera", {"reason": "mine"})
    assert "needs the operator role" in assert_problem(refused, 403)["detail"]
    paused = post(work, "/api/v1/agent/pause", "ana", {"reason": "deploy freeze"})
    assert paused.status_code == 200, paused.text
    assert get(work, "/api/v1/agent").json()["controls"]["paused"] is True
    resumed = post(work, "/api/v1/agent/resume", "ana", {})
    assert resumed.status_code == 200, resumed.text
    assert get(work, "/api/v1/agent").json()["controls"]["paused"] is False
    assert_problem(post(work, "/api/v1/agent/pause", "ana", {"why": "x"}), 422, "body.why")
