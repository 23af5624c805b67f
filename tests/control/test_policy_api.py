"""Decision policies over the control-plane API on a real ``keel server``: register a section
sent in the body, gate, four-eyes release, rollback; each route refuses the roles below it."""

from __future__ import annotations

from tests.control.conftest import Plane
from tests.control.test_api import assert_problem, get, post

# keel.yaml's thresholds written in another order: another digest, the same decisions (so its
# cost against the policy in force is exactly equal and its gate passes)
LOOSER = {"thresholds": {"decline": ">= 0.35", "review": "0.15..0.35", "approve": "< 0.15"}}


def test_a_policy_goes_from_the_body_to_force_and_back_over_http(plane: Plane) -> None:
    assert_problem(post(plane, "/api/v1/policies", "vera", {"decisions": LOOSER}), 403)
    made = post(plane, "/api/v1/policies", "ana", {"decisions": LOOSER, "note": "one point"})
    assert made.status_code == 200, made.text
    policy = made.json()["policy"]
    assert policy["policy"] == "p1" and policy["source"] == "request"
    number = policy["version"]

    gated = post(plane, f"/api/v1/policies/{number}/gate", "ana", {})
    assert gated.status_code == 200, gated.text
    assert {c["name"] for c in gated.json()["checks"]} == {"cost"} and gated.json()["passed"]

    asked = post(plane, f"/api/v1/policies/{number}/release", "ana", {"reason": "reordered"})
    assert asked.status_code == 200 and asked.json()["release"] is None, asked.text
    mine = post(plane, f"/api/v1/policies/{number}/approve", "ana", {"note": "mine"})
    assert_problem(mine, 403)  # an operator may not approve at all
    assert_problem(post(plane, f"/api/v1/policies/{number}/reject", "omar", {"note": ""}), 422)
    done = post(plane, f"/api/v1/policies/{number}/approve", "omar", {"note": "read the gate"})
    assert done.status_code == 200, done.text
    assert done.json()["release"]["policy"] == number
    listed = get(plane, "/api/v1/policies").json()
    assert listed["live"] == number and listed["policies"][0]["policy"] == "p1"
    assert get(plane, "/api/v1/release").json()["policy"] == number

    assert_problem(post(plane, "/api/v1/policy/rollback", "vera", {}), 403)
    back = post(plane, "/api/v1/policy/rollback", "ana", {"reason": "queue grew"})
    assert back.status_code == 200 and back.json()["policy"] is None, back.text
    assert_problem(post(plane, "/api/v1/policy/rollback", "ana", {}), 409)


def test_a_bad_section_is_a_422_naming_its_key(plane: Plane) -> None:
    bad = {"decisions": {"review": {"audit_rate": 0.5}}}
    body = assert_problem(post(plane, "/api/v1/policies", "ana", bad), 422)
    assert body["path"] == "decisions.review" and "belongs to the project" in body["detail"]
    unknown = assert_problem(post(plane, "/api/v1/policies", "ana", {"decisions": {"x": 1}}), 422)
    assert unknown["path"].startswith("decisions.x")
    assert_problem(get(plane, "/api/v1/policies/99"), 404)
