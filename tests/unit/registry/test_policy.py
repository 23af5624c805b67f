"""The release policy's gates: one model per kind, told apart by their keys or by ``kind``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from keel.errors import ConfigError
from keel.registry.policy import (
    LatencyGate,
    MetricGate,
    NonInferiorityGate,
    ReleasePolicy,
    SignatureGate,
    WorstSliceGate,
    parse_policy,
)

EXAMPLES = Path(__file__).parents[3] / "examples"


@pytest.mark.parametrize(
    ("gate", "expected"),
    [
        ({"metric": "roc_auc", "min": 0.7}, MetricGate(metric="roc_auc", min=0.7)),
        ({"metric": "ece", "max": 0.03}, MetricGate(metric="ece", max=0.03)),
        (
            {"metric": "roc_auc", "min": 0.6, "max": 0.99},
            MetricGate(metric="roc_auc", min=0.6, max=0.99),
        ),
        (
            {"non_inferior_to": "champion", "metric": "roc_auc", "margin": 0.005},
            NonInferiorityGate(metric="roc_auc", margin=0.005),
        ),
        (
            {"worst_slice_drop": 0.03, "metric": "roc_auc", "min_rows": 200},
            WorstSliceGate(worst_slice_drop=0.03, metric="roc_auc", min_rows=200),
        ),
        ({"latency_p99_ms": 5}, LatencyGate(latency_p99_ms=5)),
        ({"signature": "compatible"}, SignatureGate()),
        ({"kind": "latency", "latency_p99_ms": 5}, LatencyGate(latency_p99_ms=5)),
        ({"kind": "signature"}, SignatureGate()),
    ],
    ids=[
        "metric-min",
        "metric-max",
        "metric-both",
        "non-inferiority",
        "worst-slice",
        "latency",
        "signature",
        "explicit-kind",
        "explicit-kind-defaults",
    ],
)
def test_each_kind_parses_to_its_own_model(gate: dict[str, Any], expected: object) -> None:
    (parsed,) = parse_policy({"gates": [gate]}).gates
    assert parsed == expected and type(parsed) is type(expected)


@pytest.mark.parametrize(
    ("gate", "path", "says"),
    [
        ({"kind": "drift", "metric": "psi"}, "release.gates.1.kind", "unknown gate kind"),
        ({"metric": "roc_auc", "threshold": 0.7}, "release.gates.1", "a gate is one of"),
        (
            {"metric": "roc_auc", "min": 0.7, "worst_slice_drop": 0.03},
            "release.gates.1",
            "mixes metric (min) and worst_slice (worst_slice_drop)",
        ),
        (
            {"kind": "latency", "latency_p99_ms": 5, "min": 1},
            "release.gates.1.min",
            "unknown field for a latency gate",
        ),
        (
            {"metric": "roc_auc", "min": 0.7, "margin": 0.01},
            "release.gates.1.margin",
            "unknown field for a metric gate, which takes: metric, min, max",
        ),
        ({"worst_slice_drop": 0.03}, "release.gates.1.metric", "required field is missing"),
        (
            {"non_inferior_to": "champion", "metric": "roc_auc", "confidence": 1.5},
            "release.gates.1.confidence",
            "less than 1",
        ),
        ({"kind": "metric", "metric": "roc_auc"}, "release.gates.1", "needs min or max"),
        ("roc_auc >= 0.7", "release.gates.1", "a gate is a mapping"),
    ],
    ids=[
        "unknown-kind",
        "no-kind-key",
        "mixed-keys",
        "key-of-another-kind",
        "key-of-no-metric-gate",
        "missing-metric",
        "bad-value",
        "metric-without-bound",
        "not-a-mapping",
    ],
)
def test_a_bad_gate_is_a_config_error_naming_its_path(gate: object, path: str, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy({"gates": [{"latency_p99_ms": 5}, gate]})
    assert info.value.path == path
    assert info.value.message.startswith(f"{path}: ") and says in info.value.message


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(ConfigError) as info:
        parse_policy({"gates": [{"kind": "nope"}, {"latency_p99_ms": -1}], "approvals": -1})
    message = info.value.message
    for path in ("release.gates.0.kind", "release.gates.1.latency_p99_ms", "release.approvals"):
        assert f"{path}: " in message


def test_a_dumped_policy_reads_back_unchanged() -> None:
    policy = ReleasePolicy(
        gates=[
            MetricGate(metric="roc_auc", min=0.7),
            NonInferiorityGate(metric="roc_auc", margin=0.005),
            WorstSliceGate(worst_slice_drop=0.03, metric="roc_auc"),
            LatencyGate(latency_p99_ms=5),
            SignatureGate(),
        ],
        approvals=1,
    )
    assert parse_policy(policy.model_dump()) == policy
    assert policy.model_dump()["gates"][1]["kind"] == "non_inferiority"


@pytest.mark.parametrize(
    "project", sorted(EXAMPLES.glob("*/keel.yaml")), ids=lambda p: p.parent.name
)
def test_the_examples_load_unchanged(project: Path) -> None:
    section = yaml.safe_load(project.read_text(encoding="utf-8")).get("release") or {}
    policy = parse_policy(section)
    assert len(policy.gates) == len(section.get("gates", []))


def test_only_gates_that_score_rows_ask_for_them() -> None:
    recorded = ReleasePolicy(gates=[MetricGate(metric="roc_auc", min=0.7), SignatureGate()])
    assert not recorded.reads_rows
    assert ReleasePolicy(gates=[*recorded.gates, LatencyGate(latency_p99_ms=5)]).reads_rows
