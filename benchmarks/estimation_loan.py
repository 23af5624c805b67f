"""CBPE's interval on the loan simulator's streams, with known truth: with and without the
calibration map's uncertainty.

A LightGBM on the ten numeric columns is trained on 30,000 simulated applications, calibrated
(isotonic) on 10,000 more; 10,000 others with their labels are the reference that the
estimator refits its map on. Two streams of 40 chunks (200,000 applications each, rows whose
label is withheld or an input missing left out): stationary, and income shifted up 0.3 sd
throughout (the truth P(default | inputs) unchanged, so CBPE's premise still holds).

    .venv/bin/python benchmarks/estimation_loan.py
"""

from __future__ import annotations

import time
from datetime import datetime

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.evaluation import get_metric
from keel.models import Calibrator, make_estimator
from keel.monitoring.performance import PerformanceEstimator
from keel.simulate import CovariateDrift, simulate_frame

START, END = datetime(2024, 1, 1), datetime(2024, 7, 1)
NUMERIC = [
    "income", "age", "employment_years", "debt", "loan_amount", "term_months", "interest_rate",
    "credit_score", "num_open_accounts", "num_delinquencies",
]  # fmt: skip
CHUNKS = 40
F64 = npt.NDArray[np.float64]


def rows(count: int, seed: int, *incidents: CovariateDrift) -> tuple[F64, F64]:
    """Inputs and labels of complete, labelled simulated rows."""
    frame = simulate_frame(rows=count, seed=seed, start=START, end=END, incidents=incidents)
    x = frame.select([pl.col(c).cast(pl.Float64) for c in NUMERIC]).to_numpy()
    y = frame["defaulted"].to_numpy().astype(np.float64)
    keep = ~np.isnan(y) & ~np.isnan(x).any(axis=1)
    return x[keep], y[keep]


def main() -> None:
    x, y = rows(30_000, 1)
    model = make_estimator("lightgbm", "binary", {}, seed=0)
    model.fit(x, y, names=NUMERIC, categorical=[])
    x, y = rows(10_000, 2)
    calibrator = Calibrator(method="isotonic").fit(model.predict(x), y)
    x, y_ref = rows(10_000, 3)
    s_ref = calibrator.apply(model.predict(x))
    auc = get_metric("roc_auc")
    streams = {
        "stationary": rows(CHUNKS * 5000, 4),
        "income +0.3 sd": rows(
            CHUNKS * 5000, 5, CovariateDrift(column="income", shift=0.3, at=0.0, until=0.0)
        ),
    }
    print(f"reference {s_ref.size:,} rows; {CHUNKS} chunks per stream")
    print(
        f"{'stream':<16}{'interval':<14}{'MAE':>8}{'max err':>9}{'held':>8}{'width':>8}{'CPU s':>7}"
    )
    for name, (x, y) in streams.items():
        s = calibrator.apply(model.predict(x))
        size = s.size // CHUNKS
        for resamples, label in ((50, "map + labels"), (0, "labels only")):
            start = time.process_time()
            estimator = PerformanceEstimator(
                metrics=["roc_auc"], calibration="isotonic", calibration_resamples=resamples
            ).fit(s_ref, y_ref)
            errors, held, width = [], 0, 0.0
            for chunk in range(CHUNKS):
                part = slice(chunk * size, (chunk + 1) * size)
                found = estimator.estimate(s[part]).metrics["roc_auc"]
                truth = auc.score(y[part], s[part])
                errors.append(abs(found.value - truth))
                held += found.low <= truth <= found.high
                width += (found.high - found.low) / CHUNKS
            print(
                f"{name:<16}{label:<14}{np.mean(errors):>8.4f}{max(errors):>9.4f}"
                f"{held:>5}/{CHUNKS}{width:>8.4f}{time.process_time() - start:>7.2f}"
            )


if __name__ == "__main__":
    main()
