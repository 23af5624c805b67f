"""Quality per chunk: missing, unseen and out-of-range rates against their limits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.monitoring import build_reference
from keel.monitoring.quality import QualityLimits, check_quality

MakeTable = Callable[..., pl.DataFrame]


def test_clean_chunk_raises_no_alert(make_table: MakeTable) -> None:
    report = check_quality(build_reference(make_table(20_000, seed=0)), make_table(2000, seed=1))
    assert report.alerts == {}


def test_each_broken_pipe_alerts_on_its_own_check(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=2), make_table(2000, seed=3)
    holes = pl.Series(np.random.default_rng(0).random(current.height) < 0.1)
    broken = current.with_columns(
        pl.when(holes).then(None).otherwise(pl.col("normal")).alias("normal"),
        pl.when(pl.col("purpose") == "other")
        .then(pl.lit("crypto"))
        .otherwise(pl.col("purpose"))
        .alias("purpose"),
        pl.col("skewed") * 1000,
    )
    report = check_quality(build_reference(reference), broken)
    assert report.alerts == {
        "normal": ("missing",),
        "skewed": ("out_of_range",),
        "purpose": ("unseen",),
    }
    assert report.columns["purpose"].examples == ("crypto",)
    assert report.columns["purpose"].checks["unseen"].rate == pytest.approx(
        float((current["purpose"] == "other").mean())  # type: ignore[arg-type]
    )


def test_configured_limits_replace_the_reference_ones(make_table: MakeTable) -> None:
    reference, current = make_table(20_000, seed=4), make_table(2000, seed=5)
    limits = QualityLimits(
        ranges={"normal": (0.0, 55.0)},
        allowed={"purpose": ("car", "home")},
        max_missing={"with_nulls": 0.0},
    )
    report = check_quality(build_reference(reference), current, limits=limits)
    assert set(report.alerts) == {"normal", "purpose", "with_nulls"}
    share_above = float((current["normal"] > 55.0).mean())  # type: ignore[arg-type]
    assert report.columns["normal"].checks["out_of_range"].rate == pytest.approx(share_above)


def test_text_that_is_not_a_number_counts_as_missing() -> None:
    reference = build_reference(pl.DataFrame({"x": [1.0, 2.0, 3.0, 4.0]}))
    report = check_quality(reference, pl.DataFrame({"x": ["1.5", "n/a", "2", ""]}))
    assert report.columns["x"].checks["missing"].rate == 0.5


def test_limits_must_be_shares() -> None:
    with pytest.raises(InvalidInput, match="unseen_rate"):
        QualityLimits(unseen_rate=5.0)
