"""The monitor report: incidents, performance over time, and per drifted feature its latest
distributions and its statistic per chunk; lines break where a chunk has no value."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import polars as pl

from keel.monitoring import detect_drift
from keel.monitoring.incidents import Incident, IncidentStatus, Severity
from keel.monitoring.ports import ChunkResult
from keel.reporting.monitor import render_history
from keel.reporting.plots import line_svg

START = datetime(2024, 1, 1, tzinfo=UTC)


def _chunk(day: int, shift: float, realized: float | None) -> ChunkResult:
    rng = np.random.default_rng(day)
    reference = pl.DataFrame({"income": rng.normal(50, 10, 3000), "kind": ["a", "b"] * 1500})
    current = pl.DataFrame({"income": rng.normal(50 + shift, 10, 1000), "kind": ["a", "b"] * 500})
    results = {
        "drift": detect_drift(reference, current).to_dict(distributions=True),
        "estimated": {"metrics": {"roc_auc": {"value": 0.8}}},
        "reference": {"roc_auc": 0.81},
    }
    if realized is not None:
        results["realized"] = {"metrics": {"roc_auc": {"value": realized}}}
    breaches = [{"message": "income <drifted>"}] if shift else []
    at = START + timedelta(days=day)
    return ChunkResult("p", 1, f"day {day}", at, at, 1000, "loan/v1", results, breaches)


def _incident(seq: int, status: IncidentStatus) -> Incident:
    return Incident("p", seq, "drift", Severity.HIGH, status, "income & more", START, START, 2)


def test_a_drifted_feature_gets_its_distributions_and_its_statistic_over_time() -> None:
    chunks = [_chunk(1, 0, 0.79), _chunk(2, 8, None), _chunk(3, 8, 0.7)]
    page = render_history("loan <x>", chunks, [_incident(1, IncidentStatus.OPEN)])
    assert "<h1>Monitoring report: loan &lt;x&gt;</h1>" in page
    assert (
        "3 chunks, 3,000 predictions; 1 incidents; 1 features drifted at least once: income" in page
    )
    assert page.count("<svg") == 3  # performance, income's distributions, income's statistic
    assert "<p>chunk day 3</p>" in page  # the newest chunk where it drifted
    assert "<tr class='alert'><td>#1</td><td>open</td>" in page
    assert "income &lt;drifted&gt;" in page
    assert not re.search(r"<script|<link|src=|url\(|@import", page)


def test_an_empty_history_says_so() -> None:
    page = render_history("p", [], [])
    assert "<p>No incidents.</p>" in page and "<svg" not in page
    assert "0 chunks, 0 predictions; 0 incidents; 0 features drifted at least once." in page


def test_a_missing_value_breaks_the_line_and_a_lone_point_is_a_dot() -> None:
    figure = line_svg(
        [("v", [0.1, None, 0.3, 0.4], "#000", False)], ["a", "b", "c", "d"], y_label="y"
    )
    assert figure.count("<polyline") == 2  # [a] and [c, d]
    assert figure.count("<circle") == 1  # a alone
    assert line_svg([("v", [None], "#000", True)], ["a"], y_label="y").endswith("></svg>")
