"""``keel review``: the queue worked from the command line, as reviewers would."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from keel.predictions import PredictionRecord
from keel.store.tables.prediction_log import PredictionLog
from tests.cli.conftest import Keel, Result


def _ok(result: Result) -> object:
    assert result.code == 0, result.err
    return result.json()


def _served(project: Path) -> None:
    """Three logged answers: one sent to review (with markup in its id), two approved."""
    start = datetime(2024, 7, 1, tzinfo=UTC)
    log = PredictionLog(project / ".keel" / "predictions", durability="write")
    log.append(
        [
            PredictionRecord(
                request_id="r",
                prediction_id=f"p-{n}",
                time=start + timedelta(seconds=n),
                model="loan-default/v1",
                entity_id="[red]a-0[/]" if n == 0 else f"a-{n}",
                inputs={},
                score=0.3 if n == 0 else 0.05,
                decision="review" if n == 0 else "approve",
                route="champion",
            )
            for n in range(3)
        ]
    )
    log.close()


@pytest.mark.slow
def test_reviewers_work_the_queue_from_the_command_line(keel: Keel, project: Path) -> None:
    key: dict[str, dict[str, str]] = {}
    for name, role in (("ada", "admin"), ("rita", "reviewer"), ("vera", "viewer")):
        added = _ok(
            keel("users", "add", name, "--role", role, "--json", cwd=project, env=key.get("ada"))
        )
        key[name] = {"KEEL_API_KEY": added["api_key"]}  # type: ignore[index]
    _served(project)
    synced = _ok(keel("review", "sync", "--json", cwd=project, env=key["rita"]))
    assert synced == {**synced, "created": 1, "scanned": 3}  # type: ignore[dict-item]
    text = keel("review", "list", cwd=project, env=key["vera"])
    assert "[red]a-0[/]" in text.out  # data shown as it is, never read as markup
    claimed = _ok(keel("review", "claim", "--json", cwd=project, env=key["rita"]))
    item = str(claimed["item"])  # type: ignore[index]
    taken = keel("review", "claim", item, cwd=project, env=key["ada"])  # another person
    assert taken.code == 4 and "claimed by rita until" in taken.err
    viewer = keel("review", "resolve", item, "--decision", "approve", cwd=project, env=key["vera"])
    assert viewer.code == 5 and "reviewer" in viewer.err
    resolved = _ok(
        keel(
            "review",
            "resolve",
            item,
            "--decision",
            "decline",
            "--label",
            "1",
            "--note",
            "payslip forged",
            "--json",
            cwd=project,
            env=key["rita"],
        )
    )
    assert resolved["state"] == "resolved"  # type: ignore[index]
    stats = _ok(keel("review", "stats", "--json", cwd=project, env=key["vera"]))
    assert stats["decisions"]["review"] == {"decline": 1}  # type: ignore[index]
    assert stats["override_rate"] == {}  # the policy itself asked: nothing automatic to override
    assert "selected sample" in stats["note"]  # type: ignore[index]
