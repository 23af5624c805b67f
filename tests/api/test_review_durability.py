"""Review items come from the durable log: after a kill -9 under load, every acknowledged
prediction that needs a person has exactly one item, however often the queue is synced."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

from keel.app import review
from keel.decisions.review import Reason
from tests.api.conftest import logged, open_project
from tests.api.live import Load, Server


def test_after_kill_9_every_acknowledged_review_decision_has_exactly_one_item(
    project: Path, serve: Callable[..., Server], records: list[dict[str, Any]]
) -> None:
    server = serve()
    load = Load(server.url, records, threads=8).start()
    try:
        load.wait_for(300)
        assert server.stop(signal.SIGKILL) == -signal.SIGKILL
    finally:
        load.stop()
    answered = [p for a in load.answered for p in a["predictions"]]
    to_review = {p["id"] for p in answered if p["decision"] == "review" and not p["ood"]}
    assert len(to_review) >= 20
    keel = open_project(project)
    try:
        first = review.sync_review(keel).outcome
        again = review.sync_review(keel, full=True).outcome
        items = review.list_items(keel, limit=1_000_000)
    finally:
        keel.close()
    made = [i.prediction_id for i in items if i.reason is Reason.REVIEW]
    assert to_review <= set(made)  # none acknowledged is lost
    assert len(made) == len(set(made))  # and none is made twice
    logged_review = {
        r["prediction_id"]
        for r in logged(project)
        if r["decision"] == "review" and not r["ood"] and r["route"] != "shadow"
    }
    assert set(made) == logged_review
    assert first.created == len(items) and again.created == 0
