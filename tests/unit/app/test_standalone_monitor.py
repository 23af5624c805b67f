"""``monitor_files``: a model trained elsewhere, monitored from its files, with known truth.

The outside model's scores are overconfident (``sigmoid(2.5 z + 1)`` where ``P(y=1) =
sigmoid(z)``) and it flags rows at 0.7; the files carry a row id and an event time. The current
file holds three stationary chunks, a quality incident (a fifth of x2 missing, a new region
"west") and a chunk where x1 spreads less, so the model separates worse (a known drop of ROC
AUC, with drift of x1).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from keel.app.standalone import FileMonitorReport, FileMonitorRequest, monitor_files
from keel.evaluation import MetricParams, get_metric

CHUNK = 2000


def outside(rows: int, seed: int, *, first: int = 0, x1_scale: float = 1.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0.0, x1_scale, rows)
    x2 = rng.normal(size=rows)
    region = rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2])
    z = 1.6 * x1 - 0.8 * x2 + 0.4 * (region == "north") - 0.3
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    score = 1 / (1 + np.exp(-(2.5 * z + 1.0)))
    start = datetime(2024, 1, 1) + timedelta(minutes=first)
    return pl.DataFrame(
        {
            "row_id": np.arange(first, first + rows),
            "event_time": [start + timedelta(minutes=i) for i in range(rows)],
            "x1": x1,
            "x2": x2,
            "region": region,
            "score": score,
            "flagged": (score >= 0.7).astype(np.int64),
            "outcome": y,
        }
    )


def incident(frame: pl.DataFrame, seed: int) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    missing = rng.random(frame.height) < 0.2
    west = rng.random(frame.height) < 0.05
    return frame.with_columns(
        pl.when(pl.Series(missing)).then(None).otherwise(pl.col("x2")).alias("x2"),
        pl.when(pl.Series(west)).then(pl.lit("west")).otherwise(pl.col("region")).alias("region"),
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("outside")
    outside(6000, seed=1).write_csv(folder / "reference.csv")
    chunks = [outside(CHUNK, seed=10 + i, first=6000 + i * CHUNK) for i in range(3)]
    chunks.append(incident(outside(CHUNK, seed=20, first=12_000), seed=21))
    chunks.append(outside(CHUNK, seed=30, first=14_000, x1_scale=0.5))
    pl.concat(chunks).write_csv(folder / "current.csv")
    return folder


@pytest.fixture(scope="module")
def report(files: Path) -> FileMonitorReport:
    return monitor_files(
        FileMonitorRequest(
            reference=files / "reference.csv",
            current=(files / "current.csv",),
            chunk_rows=CHUNK,
            score="score",
            label="outcome",
            prediction="flagged",
            html=files / "report.html",
        )
    )


def test_identifier_and_timestamp_are_left_out_saying_why(report: FileMonitorReport) -> None:
    assert "identifier" in report.skipped["row_id"]
    assert report.skipped["event_time"] == "a timestamp"
    assert report.skipped["outcome"] == "the label"
    assert report.compared == ["x1", "x2", "region", "score", "flagged"]


def test_the_models_threshold_and_the_recalibration_are_reported(
    report: FileMonitorReport,
) -> None:
    assert report.threshold == pytest.approx(0.7, abs=0.01)
    assert any("recalibrated (isotonic)" in note for note in report.notes)
    assert any("threshold, read from its labels" in note for note in report.notes)


def test_stationary_chunks_raise_no_alert_and_estimates_cover_the_realized(
    report: FileMonitorReport,
) -> None:
    covered = 0
    for chunk in report.chunks[:3]:
        assert chunk.alerts == [], chunk.label
        assert chunk.estimated is not None and chunk.realized is not None
        for name in ("roc_auc", "accuracy", "f1"):
            estimate, realized = chunk.estimated.metrics[name], chunk.realized.metrics[name]
            covered += estimate.low <= realized.value <= estimate.high
    assert covered >= 8  # nine 95% intervals: 8.55 expected to hold


def test_the_quality_incident_names_the_column_and_the_unseen_value(
    report: FileMonitorReport,
) -> None:
    chunk = report.chunks[3]
    assert "quality x2 missing" in chunk.alerts and "quality region unseen" in chunk.alerts
    assert chunk.quality.columns["region"].examples == ("west",)
    assert chunk.quality.columns["x2"].checks["missing"].rate == pytest.approx(0.2, abs=0.03)
    assert report.reference_missing["x2"] == 0.0


def test_the_known_drop_is_estimated_before_labels(report: FileMonitorReport) -> None:
    chunk = report.chunks[4]
    assert chunk.estimated is not None and chunk.realized is not None
    assert "estimated roc_auc" in chunk.alerts and "drift x1" in chunk.alerts
    estimate, realized = chunk.estimated.metrics["roc_auc"], chunk.realized.metrics["roc_auc"]
    assert estimate.low <= realized.value <= estimate.high
    assert realized.value < estimate.reference - 0.05  # the truth: a real drop


def test_realized_metrics_follow_the_models_labels(report: FileMonitorReport, files: Path) -> None:
    frame = pl.read_csv(files / "current.csv").head(CHUNK)
    y, flagged = frame["outcome"].to_numpy(), frame["flagged"].to_numpy()
    expected = get_metric("f1").score(y, flagged.astype(float), MetricParams(threshold=0.5))
    realized = report.chunks[0].realized
    assert realized is not None
    assert realized.metrics["f1"].value == pytest.approx(expected)


def test_json_and_html_carry_every_chunk(report: FileMonitorReport, files: Path) -> None:
    body = report.to_dict()
    assert body["chunks"][0]["label"] == "current.csv rows 1-2000"
    assert body["chunks"][3]["quality"]["columns"]["region"]["examples"] == ["west"]
    page = (files / "report.html").read_text()
    assert "current.csv rows 8001-10000" in page and "west" in page and "<svg" in page
    assert "<th>reference</th>" in page  # the missing rate beside the reference's


def test_the_html_report_draws_its_plots_in_a_browser_with_nothing_to_fetch(
    report: FileMonitorReport, files: Path
) -> None:
    from tests.e2e.chromium import drawn_plots

    page = files / "report.html"
    assert "http" not in page.read_text().replace("http://www.w3.org/2000/svg", "")
    plots = drawn_plots(page, files)
    # five performance metrics, and per drifted column (x2, region, x1, score) two plots
    assert len(plots) == 5 + 2 * 4
    assert all(p["marks"] > 0 and p["width"] > 50 and p["height"] > 50 for p in plots), plots
