"""Estimated vs realized ROC AUC before labels arrive: Keel's CBPE beside NannyML's, on real data.

The ACS employment data (examples/acs-employment, Massachusetts 2015-2018): a LightGBM of the
kind Keel's trainer fits (Keel's estimator, 400 rounds, Keel's isotonic calibration on a held-out
fifth) is trained on 60% of 2015; another 20% of 2015, with labels, is the reference. 2016-2018
are cut into chunks of ``--chunk-rows`` rows in survey order. Both estimators read the same
calibrated probabilities of the same model on the same chunks:

* Keel: ``PerformanceEstimator(calibration="isotonic")`` fitted on the reference (a fresh
  isotonic map on the labelled reference, as NannyML makes; without it the MAE was 0.0058
  here), its 95% interval from labels simulated from the probabilities of the map and of 50
  maps refitted on bootstrap resamples of the reference; ``keel-noise``: the interval from the
  labels alone (``calibration_resamples=0``), as before.
* NannyML 0.13.1: ``CBPE`` fitted on the reference (it recalibrates if it finds the need), its
  confidence band (value +- 3 sampling errors, as it reports).

The table gives the mean absolute error of the estimate against the realized AUC per chunk, how
often the interval held the realized value, and the mean interval width. NannyML runs in
.venv-bench-drift.

    .venv/bin/python benchmarks/estimation.py --chunk-rows 5000
"""

# ruff: noqa: PLC0415  (each tool is imported only in its own subprocess and venv)
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import PEERS, ROOT, load_note, spawn

DATA = ROOT / "examples" / "acs-employment" / "acs_employment_ma.parquet"
FEATURES = (
    "AGEP", "SCHL", "MAR", "RELP", "DIS", "ESP", "CIT", "MIG", "MIL", "ANC", "NATIVITY", "DEAR",
    "DEYE", "DREM", "SEX", "RAC1P",
)  # fmt: skip


def prepare(chunk_rows: int, folder: Path) -> dict[str, Any]:
    """Train and calibrate on 2015; write scores.parquet (reference rows, then chunks)."""
    import numpy as np
    import polars as pl

    from keel.evaluation import get_metric
    from keel.models import Calibrator, make_estimator

    frame = pl.read_parquet(DATA)
    codes = [
        pl.col(n).cast(pl.Float64) if n == "AGEP" else pl.col(n).cast(pl.Int64) for n in FEATURES
    ]
    x_all = frame.select(codes).to_numpy().astype(np.float64)
    y_all = frame["employed"].to_numpy().astype(np.float64)
    year = frame["year"].to_numpy()
    first = np.flatnonzero(year == 2015)
    part = np.random.default_rng(0).permutation(first.size) % 5  # 0-2 fit, 3 calibrate, 4 ref
    fit, calibrate, reference = (first[part < 3], first[part == 3], first[part == 4])
    model = make_estimator("lightgbm", "binary", {}, seed=0)
    model.fit(x_all[fit], y_all[fit], names=list(FEATURES), categorical=list(range(1, 16)))
    calibrator = Calibrator(method="isotonic").fit(
        model.predict(x_all[calibrate]), y_all[calibrate]
    )
    later = np.flatnonzero(year > 2015)
    rows = np.concatenate((reference, later))
    p = calibrator.apply(model.predict(x_all[rows]))
    chunk = np.concatenate((np.full(reference.size, -1), np.arange(later.size) // chunk_rows))
    scores = pl.DataFrame({"chunk": chunk, "p": p, "y": y_all[rows], "year": year[rows]})
    last = int(chunk.max())
    if (chunk == last).sum() < chunk_rows:  # a short last chunk joins the one before
        scores = scores.with_columns(pl.col("chunk").replace(last, last - 1))
    scores.write_parquet(folder / "scores.parquet")
    auc = get_metric("roc_auc").score(y_all[reference], p[: reference.size])
    return {"reference_rows": int(reference.size), "reference_auc": auc}


def keel(folder: Path, chunk_rows: int, resamples: int = 50) -> dict[str, Any]:
    import polars as pl

    from keel.monitoring.performance import PerformanceEstimator

    scores = pl.read_parquet(folder / "scores.parquet")
    reference = scores.filter(pl.col("chunk") == -1)
    estimator = PerformanceEstimator(
        metrics=["roc_auc"], calibration="isotonic", calibration_resamples=resamples
    )
    estimator.fit(reference["p"].to_numpy(), reference["y"].to_numpy())
    out = []
    for _, chunk in scores.filter(pl.col("chunk") >= 0).group_by("chunk", maintain_order=True):
        found = estimator.estimate(chunk["p"].to_numpy()).metrics["roc_auc"]
        out.append({"value": found.value, "low": found.low, "high": found.high})
    return {"chunks": out}


def keel_label_noise(folder: Path, chunk_rows: int) -> dict[str, Any]:
    """Keel's interval before it held the calibration map's uncertainty."""
    return keel(folder, chunk_rows, resamples=0)


def nannyml(folder: Path, chunk_rows: int) -> dict[str, Any]:
    import nannyml as nml
    import pandas as pd

    scores = pd.read_parquet(folder / "scores.parquet")
    scores["pred"] = (scores["p"] >= 0.5).astype(int)
    scores["y"] = scores["y"].astype(int)
    reference = scores[scores["chunk"] == -1]
    analysis = scores[scores["chunk"] >= 0].drop(columns=["y"])
    estimator = nml.CBPE(
        y_pred_proba="p",
        y_pred="pred",
        y_true="y",
        metrics=["roc_auc"],
        problem_type="classification_binary",
        chunker=nml.chunk.SizeBasedChunker(chunk_size=chunk_rows, incomplete="append"),
    )
    estimator.fit(reference)
    table = estimator.estimate(analysis).filter(period="analysis").to_df()
    auc = table["roc_auc"]
    return {
        "chunks": [
            {"value": v, "low": lo, "high": hi}
            for v, lo, hi in zip(
                auc["value"],
                auc["lower_confidence_boundary"],
                auc["upper_confidence_boundary"],
                strict=True,
            )
        ]
    }


def realized(folder: Path) -> list[float]:
    """The realized AUC of each chunk, with the labels the estimators did not see."""
    import polars as pl

    from keel.evaluation import get_metric

    scores = pl.read_parquet(folder / "scores.parquet").filter(pl.col("chunk") >= 0)
    metric = get_metric("roc_auc")
    return [
        metric.score(chunk["y"].to_numpy(), chunk["p"].to_numpy())
        for _, chunk in scores.group_by("chunk", maintain_order=True)
    ]


def child(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    if args.child == "prepare":
        print(json.dumps(prepare(args.chunk_rows, folder)))
        return
    try:
        run = {"keel": keel, "keel-noise": keel_label_noise, "nannyml": nannyml}[args.child]
        start = time.perf_counter()
        result = run(folder, args.chunk_rows)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc.name})"}))
        return
    print(json.dumps({**result, "seconds": time.perf_counter() - start}))


def row(tool: str, result: dict[str, Any], truth: list[float]) -> str:
    if "error" in result:
        return f"{tool:<11} {result['error']}"
    chunks = result["chunks"]
    if len(chunks) != len(truth):
        return f"{tool:<11} estimated {len(chunks)} chunks, expected {len(truth)}"
    errors = [abs(c["value"] - t) for c, t in zip(chunks, truth, strict=True)]
    held = sum(c["low"] <= t <= c["high"] for c, t in zip(chunks, truth, strict=True))
    width = sum(c["high"] - c["low"] for c in chunks) / len(chunks)
    return (
        f"{tool:<11} {sum(errors) / len(errors):>10.4f} {max(errors):>10.4f}"
        f" {held:>5}/{len(truth):<5} {width:>10.4f} {result['seconds']:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--python-peers", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--python-drift-peers", default=str(PEERS), help="interpreter with peers")
    parser.add_argument("--no-peers", action="store_true", help="run Keel alone")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(load_note(), flush=True)
    tools = ["keel", "keel-noise"] + ([] if args.no_peers else ["nannyml"])
    with tempfile.TemporaryDirectory(prefix="keel-estimation-") as tmp:
        sizes = ["--chunk-rows", str(args.chunk_rows), "--data", tmp]
        made = spawn(sys.executable, __file__, ["--child", "prepare", *sizes], 900)
        if "error" in made:
            raise SystemExit(f"training the model: {made['error']}")
        truth = realized(Path(tmp))
        print(
            f"trained on 2015; reference {made['reference_rows']:,} rows of 2015 (ROC AUC"
            f" {made['reference_auc']:.4f}); {len(truth)} chunks of {args.chunk_rows:,} rows from"
            f" 2016-2018, realized ROC AUC {min(truth):.4f} to {max(truth):.4f}"
        )
        print(
            f"\n{'tool':<10} {'MAE':>10} {'max error':>10} {'held':>11} {'width':>10} {'wall s':>8}"
        )
        for tool in tools:
            python = sys.executable if tool.startswith("keel") else args.python_drift_peers
            print(
                row(tool, spawn(python, __file__, ["--child", tool, *sizes], args.timeout), truth)
            )
    print(
        "\nMAE / max error: estimated against realized ROC AUC per chunk; held: chunks whose"
        " interval held the realized value; width: mean interval width"
    )
    print(load_note())


if __name__ == "__main__":
    main()
