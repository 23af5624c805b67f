"""A released decision policy decides the next requests of a running server, and a policy
rollback restores the previous one for the next request; each logged prediction names the
policy that decided it. The changes are made with the ``keel decisions`` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from keel.config import load_project
from keel.decisions import DecisionPolicy
from tests.api.conftest import logged
from tests.api.live import Server, run_keel, wait_until

Serve = Callable[..., Server]
STRICT = {"approve": "< 0.02", "review": "0.02..0.03", "decline": ">= 0.03"}


def _keel(project: Path, *args: str) -> dict[str, Any]:
    done = run_keel(*args, "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def _answers(server: Server, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    with server.client() as client:
        answer = client.post("/v1/predict", json={"records": records})
    assert answer.status_code == 200, answer.text
    predictions: list[dict[str, Any]] = answer.json()["predictions"]
    return predictions


def _decided_by(policy: DecisionPolicy, answers: list[dict[str, Any]]) -> bool:
    """Whether ``policy`` gives every in-distribution answer its decision."""
    plain = [a for a in answers if not a["ood"]]
    return bool(plain) and all(policy.decide(a["score"]) == a["decision"] for a in plain)


def test_a_released_policy_decides_the_next_request_and_its_rollback_restores_the_old(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    config = yaml.safe_load((project / "keel.yaml").read_text())
    del config["decisions"]["costs"]  # this test is about routing, not the gate's cost check
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    configured = load_project(project / "keel.yaml").decisions
    strict = configured.with_deciding({**configured.deciding(), "thresholds": STRICT})
    server = serve("--poll", "0.1")
    batch = records[:200]
    assert _decided_by(configured.policy(), _answers(server, batch))

    policy = yaml.safe_dump({"decisions": {"thresholds": STRICT}}, sort_keys=False)
    (project / "strict.yaml").write_text(policy)
    registered = _keel(project, "decisions", "register", "--policy", "strict.yaml")
    assert registered["created"] and registered["policy"]["digest"] == strict.digest()
    assert _keel(project, "decisions", "gate", "p1")["passed"]
    released = _keel(project, "decisions", "release", "p1", "--reason", "stricter")
    assert released["release"]["policy"] == 1

    wait_until(lambda: _decided_by(strict.policy(), _answers(server, batch)), timeout=20)
    after = _answers(server, batch)
    assert _decided_by(strict.policy(), after)
    stamped = {row["prediction_id"]: row["policy"] for row in logged(project)}
    assert {stamped[a["id"]] for a in after} == {strict.digest()}
    traced = _keel(project, "lineage", after[0]["id"])
    assert traced["policy_version"] == "p1" and traced["prediction"]["policy"] == strict.digest()

    back = _keel(project, "decisions", "rollback", "--reason", "too strict")
    assert back["policy"] is None and back["action"] == "policy_rollback"
    wait_until(lambda: _decided_by(configured.policy(), _answers(server, batch)), timeout=20)
    restored = _answers(server, batch)
    stamped = {row["prediction_id"]: row["policy"] for row in logged(project)}
    assert {stamped[a["id"]] for a in restored} == {configured.digest()}
    listed = _keel(project, "decisions", "policies")
    assert listed["live"] is None and [p["policy"] for p in listed["policies"]] == ["p1"]
