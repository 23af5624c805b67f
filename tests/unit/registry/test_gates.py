"""Gate rules judged on plain numbers, and the policy section's validation."""

from __future__ import annotations

import pytest

from keel.errors import ConfigError
from keel.registry import gates
from keel.registry.gates import Difference, SliceDrop
from keel.registry.policy import (
    LatencyGate,
    MetricGate,
    NonInferiorityGate,
    WorstSliceGate,
    parse_policy,
)
from keel.registry.signature import Compatibility


def test_metric_bounds() -> None:
    at_least = MetricGate(metric="roc_auc", min=0.7)
    assert gates.metric_check(at_least, {"value": 0.7, "low": 0.6, "high": 0.8}, "h").passed
    failed = gates.metric_check(at_least, {"value": 0.69, "low": None, "high": None}, "h")
    assert not failed.passed and failed.interval is None and failed.name == "roc_auc >= 0.7"
    at_most = MetricGate(metric="ece", max=0.03)
    assert not gates.metric_check(at_most, {"value": 0.031}, "h").passed
    missing = gates.metric_check(at_most, None, "holdout")
    assert not missing.passed and "not reported on benchmark 'holdout'" in missing.detail


def test_non_inferiority_judges_the_lower_bound_against_the_margin() -> None:
    spec = NonInferiorityGate(non_inferior_to="champion", metric="roc_auc", margin=0.005)
    assert gates.non_inferiority_check(spec, Difference(0.0, -0.005, 0.005), 3).passed
    worse = gates.non_inferiority_check(spec, Difference(0.001, -0.0051, 0.007), 3)
    assert not worse.passed and worse.interval == (-0.0051, 0.007) and "v3" in worse.detail
    assert gates.non_inferiority_check(spec, None, None).passed  # no champion yet


def test_worst_slice_reports_the_worst_one() -> None:
    spec = WorstSliceGate(worst_slice_drop=0.03, metric="roc_auc")
    drops = [SliceDrop("region", "north", 500, 0.01), SliceDrop("region", "south", 400, -0.04)]
    found = gates.worst_slice_check(spec, drops, 2)
    assert not found.passed and found.value == pytest.approx(0.04)
    assert found.detail.startswith("region=south (400 rows) -0.0400 vs v2")
    assert gates.worst_slice_check(spec, drops[:1], 2).value == 0.0
    assert gates.worst_slice_check(spec, [], 2).passed
    first = gates.worst_slice_check(spec, drops, None)  # nothing to degrade from yet
    assert first.passed and first.value is None and "region=south" in first.detail


def test_latency_signature_and_integrity() -> None:
    spec = LatencyGate(latency_p99_ms=5)
    assert gates.latency_check(spec, 4.9, 200).passed
    assert not gates.latency_check(spec, 5.1, 200).passed
    broken = Compatibility(False, ("added required 'age'",))
    found = gates.signature_check(broken, 3)
    assert not found.passed and found.detail == "added required 'age'"
    assert gates.signature_check(None, None).passed
    assert gates.integrity_check(None).passed
    assert not gates.integrity_check("blob abc is corrupt").passed


@pytest.mark.parametrize(
    ("section", "path"),
    [
        ({"gates": [{"metric": "roc_auc"}]}, "release.gates.0"),
        ({"gates": [{"min": 0.7}]}, "release.gates.0"),
        ({"gates": [{"metric": "roc_auc", "min": 0.7, "latency_p99_ms": 5}]}, "release.gates.0"),
        ({"gates": [{"latency_p99_ms": 0}]}, "release.gates.0.latency_p99_ms"),
        ({"approvals": -1}, "release.approvals"),
        ({"gate": []}, "release.gate"),
    ],
)
def test_a_bad_policy_names_its_path(section: dict[str, object], path: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy(section)
    assert info.value.message.startswith(path)


def test_gate_kinds_follow_their_keys() -> None:
    policy = parse_policy(
        {
            "gates": [
                {"metric": "roc_auc", "min": 0.7},
                {"non_inferior_to": "champion", "metric": "roc_auc", "margin": 0.005},
                {"worst_slice_drop": 0.03, "metric": "roc_auc"},
                {"latency_p99_ms": 5},
                {"signature": "compatible"},
            ],
            "approvals": 1,
        }
    )
    assert [g.kind for g in policy.gates] == [
        "metric",
        "non_inferiority",
        "worst_slice",
        "latency",
        "signature",
    ]
    assert policy.approvals == 1
