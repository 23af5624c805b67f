"""Monitoring a model trained elsewhere from its files: ``keel monitor file`` beside NannyML
and Evidently on the same chunks, with known truth.

The data (simulated, so the truth is known): an outside classifier whose scores are
overconfident (``sigmoid(2.5 z + 1)`` where ``P(y=1) = sigmoid(z)``) and which flags rows at a
score of 0.7; six inputs (two categorical), a row id and an event time. The reference has
``--reference-rows`` labelled rows; the current file, without labels, has ``--chunks`` chunks of
``--chunk-rows`` rows: stationary ones, then two with a quality incident (a fifth of ``x2``
missing, a new ``region`` "west"), then two where ``x1`` spreads half as much (the model separates
worse: a known drop of ROC AUC and accuracy, and drift of ``x1``).

* Keel, whole command: ``keel monitor file REF CUR --chunk-rows N --score --label --prediction
  --json`` in a fresh process, start-up included (its identifiers, timestamps and calibration
  found on its own).
* Keel, in process: ``monitor_files`` (the same use case), imports excluded.
* NannyML 0.13.1: ``CBPE`` (roc_auc, accuracy, f1 with the model's ``y_pred``),
  ``UnivariateDriftCalculator``, ``MissingValuesCalculator``, ``UnseenValuesCalculator``, its
  defaults, on the feature columns named for it (it detects no identifier).
* Evidently 0.7.23: ``Report([DataDriftPreset()])`` per chunk (it estimates no performance and
  has no per-chunk quality limits).

With ``--task regression``, the model is a regressor trained elsewhere (``2 x1 + 0.5``, where
the truth is ``2 x1 + sin(3 x2)`` plus noise whose scale grows with ``|x1|`` and in region "b");
the last four chunks are two quality incidents and two where ``x1`` moved up by one standard
deviation (a known rise of MAE and RMSE). Keel estimates MAE and RMSE by direct loss estimation
(``--prediction`` and ``--label``), NannyML by its ``DLE``; Evidently checks drift only.

Each tool runs in its own process (NannyML and Evidently in .venv-bench-drift). The table gives
the whole process's wall time, the in-process time, the error of the estimated ROC AUC and
accuracy against the realized ones and how often the interval held them, and which chunks
alerted (false alarms on stationary chunks, incidents caught).

    .venv/bin/python benchmarks/monitor_files.py --chunk-rows 5000 [--task regression]
"""

# ruff: noqa: PLC0415  (each tool is imported only in its own subprocess and venv)
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import PEERS, QUIET, load_note, spawn

FEATURES = ("x1", "x2", "x3", "x4", "region", "channel")
STATIONARY, QUALITY, HARDER = "stationary", "quality", "harder"


def kinds(chunks: int) -> list[str]:
    """What each chunk is, by construction: the last four are two incidents of two chunks."""
    return [STATIONARY] * (chunks - 4) + [QUALITY] * 2 + [HARDER] * 2


def frame(rows: int, seed: int, first: int, kind: str) -> Any:
    """Rows of the outside model: inputs, its score and decision, the outcome."""
    from datetime import datetime, timedelta

    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    x1 = rng.normal(0.0, 0.5 if kind == HARDER else 1.0, rows)
    x2, x3, x4 = rng.normal(size=rows), rng.gamma(2.0, 1.0, rows), rng.random(rows)
    region = rng.choice(["north", "south", "east"], rows, p=[0.5, 0.3, 0.2])
    channel = rng.choice(["web", "branch", "phone", "partner"], rows)
    z = 1.6 * x1 - 0.8 * x2 + 0.3 * np.log1p(x3) + 0.4 * (region == "north") - 0.3
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(np.int64)
    score = 1 / (1 + np.exp(-(2.5 * z + 1.0)))
    start = datetime(2024, 1, 1) + timedelta(minutes=first)
    out = pl.DataFrame(
        {
            "row_id": np.arange(first, first + rows),
            "event_time": [start + timedelta(minutes=i) for i in range(rows)],
            "x1": x1, "x2": x2, "x3": x3, "x4": x4, "region": region, "channel": channel,
            "score": score, "flagged": (score >= 0.7).astype(np.int64), "outcome": y,
        }
    )  # fmt: skip
    if kind != QUALITY:
        return out
    missing = pl.Series(rng.random(rows) < 0.2)
    west = pl.Series(rng.random(rows) < 0.05)
    return out.with_columns(
        pl.when(missing).then(None).otherwise(pl.col("x2")).alias("x2"),
        pl.when(west).then(pl.lit("west")).otherwise(pl.col("region")).alias("region"),
    )


def regression_frame(rows: int, seed: int, first: int, kind: str) -> Any:
    """Rows of the outside regressor: inputs, its prediction, the outcome."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    x1 = rng.normal(1.0 if kind == HARDER else 0.0, 1.0, rows)
    x2, x3, x4 = rng.random(rows), rng.gamma(2.0, 1.0, rows), rng.normal(size=rows)
    region = rng.choice(["a", "b", "c"], rows)
    channel = rng.choice(["web", "branch", "phone", "partner"], rows)
    noise = (0.3 + 0.7 * np.abs(x1) + 0.5 * (region == "b")) * rng.normal(size=rows)
    out = pl.DataFrame(
        {
            "row_id": np.arange(first, first + rows),
            "x1": x1, "x2": x2, "x3": x3, "x4": x4, "region": region, "channel": channel,
            "prediction": 2.0 * x1 + 0.5, "outcome": 2.0 * x1 + np.sin(3.0 * x2) + noise,
        }
    )  # fmt: skip
    if kind != QUALITY:
        return out
    missing = pl.Series(rng.random(rows) < 0.2)
    west = pl.Series(rng.random(rows) < 0.05)
    return out.with_columns(
        pl.when(missing).then(None).otherwise(pl.col("x2")).alias("x2"),
        pl.when(west).then(pl.lit("west")).otherwise(pl.col("region")).alias("region"),
    )


METRICS = {"classification": ("roc_auc", "accuracy"), "regression": ("mae", "rmse")}


def generate(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """reference.parquet (labelled), current.parquet (no labels) and truth.json."""
    import polars as pl

    from keel.evaluation import MetricParams, get_metric

    make = regression_frame if args.task == "regression" else frame
    make(args.reference_rows, 1, 0, STATIONARY).write_parquet(folder / "reference.parquet")
    parts = [
        make(args.chunk_rows, 100 + i, args.reference_rows + i * args.chunk_rows, kind)
        for i, kind in enumerate(kinds(args.chunks))
    ]
    pl.concat(parts).drop("outcome").write_parquet(folder / "current.parquet")
    if args.task == "regression":
        truth = {
            name: [get_metric(name).score(p["outcome"], p["prediction"]) for p in parts]
            for name in METRICS["regression"]
        }
    else:
        truth = {
            "roc_auc": [get_metric("roc_auc").score(p["outcome"], p["score"]) for p in parts],
            "accuracy": [
                get_metric("accuracy").score(
                    p["outcome"], p["flagged"], MetricParams(threshold=0.5)
                )
                for p in parts
            ],
        }
    (folder / "truth.json").write_text(json.dumps(truth))
    return {"rows": args.reference_rows + args.chunks * args.chunk_rows}


def summarized(body: dict[str, Any]) -> list[dict[str, Any]]:
    """Keel's JSON per chunk: its alerts and its estimates."""
    return [
        {
            "alerted": bool(chunk["alerts"]),
            "estimated": {
                name: [m["value"], m["low"], m["high"]]
                for name, m in chunk["estimated"]["metrics"].items()
            },
        }
        for chunk in body["chunks"]
    ]


def roles(task: str) -> dict[str, str]:
    """The columns Keel is told about (it finds the identifier and timestamp on its own)."""
    if task == "regression":
        return {"label": "outcome", "prediction": "prediction"}
    return {"score": "score", "label": "outcome", "prediction": "flagged"}


def keel_api(folder: Path, chunk_rows: int, task: str) -> dict[str, Any]:
    from keel.app.standalone import FileMonitorRequest, monitor_files

    start = time.perf_counter()
    found = monitor_files(
        FileMonitorRequest(
            reference=folder / "reference.parquet",
            current=(folder / "current.parquet",),
            chunk_rows=chunk_rows,
            **roles(task),
        )
    )
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "chunks": summarized(found.to_dict())}


def nannyml(folder: Path, chunk_rows: int, task: str) -> dict[str, Any]:
    import nannyml as nml
    import pandas as pd

    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")
    start = time.perf_counter()
    features = list(FEATURES)
    chunker = {"chunk_size": chunk_rows}
    if task == "regression":
        metrics = ["mae", "rmse"]
        estimator = nml.DLE(
            feature_column_names=features,
            y_pred="prediction",
            y_true="outcome",
            metrics=metrics,
            **chunker,
        ).fit(reference)
        output = "prediction"
    else:
        metrics = ["roc_auc", "accuracy", "f1"]
        estimator = nml.CBPE(
            y_pred_proba="score",
            y_pred="flagged",
            y_true="outcome",
            metrics=metrics,
            problem_type="classification_binary",
            **chunker,
        ).fit(reference)
        output = "score"
    drift = nml.UnivariateDriftCalculator(column_names=[*features, output], **chunker)
    missing = nml.MissingValuesCalculator(column_names=features, **chunker)
    unseen = nml.UnseenValuesCalculator(column_names=["region", "channel"], **chunker)
    tables = [
        estimator.estimate(current).filter(period="analysis").to_df(),
        drift.fit(reference).calculate(current).filter(period="analysis").to_df(),
        missing.fit(reference).calculate(current).filter(period="analysis").to_df(),
        unseen.fit(reference).calculate(current).filter(period="analysis").to_df(),
    ]
    seconds = time.perf_counter() - start
    estimates = tables[0]
    alerted = [False] * len(estimates)
    for table in tables:
        for column in (c for c in table.columns if c[-1] == "alert"):
            alerted = [a or bool(v) for a, v in zip(alerted, table[column], strict=True)]
    chunks = [
        {
            "alerted": alerted[i],
            "estimated": {
                name: [
                    float(estimates[(name, "value")].iloc[i]),
                    float(estimates[(name, "lower_confidence_boundary")].iloc[i]),
                    float(estimates[(name, "upper_confidence_boundary")].iloc[i]),
                ]
                for name in metrics
            },
        }
        for i in range(len(estimates))
    ]
    return {"seconds": seconds, "chunks": chunks}


def evidently(folder: Path, chunk_rows: int, task: str) -> dict[str, Any]:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    columns = [*FEATURES, "prediction" if task == "regression" else "score"]
    reference = pd.read_parquet(folder / "reference.parquet")[columns]
    current = pd.read_parquet(folder / "current.parquet")[columns]
    start = time.perf_counter()
    chunks = []
    for first in range(0, len(current), chunk_rows):
        chunk = current.iloc[first : first + chunk_rows].reset_index(drop=True)
        snapshot = Report([DataDriftPreset()]).run(current_data=chunk, reference_data=reference)
        drifted = False
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config["type"].endswith("ValueDrift"):
                value, threshold = metric["value"], config["threshold"]
                p_value = "p_value" in str(config["method"]).lower()
                drifted |= (value < threshold) if p_value else (value >= threshold)
        chunks.append({"alerted": bool(drifted), "estimated": {}})
    return {"seconds": time.perf_counter() - start, "chunks": chunks}


def keel_cli(folder: Path, chunk_rows: int, task: str) -> dict[str, Any]:
    """The whole command in a fresh process: start-up, reading, profiling, every chunk."""
    command = [
        sys.executable, "-m", "keel", "monitor", "file", str(folder / "reference.parquet"),
        str(folder / "current.parquet"), "--chunk-rows", str(chunk_rows), "--json",
    ]  # fmt: skip
    for role, column in roles(task).items():
        command += [f"--{role}", column]
    start, cpu = time.perf_counter(), children_cpu()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - start, children_cpu() - cpu
    if done.returncode != 0:
        return {"error": f"failed: {done.stderr.strip().splitlines()[-1:]}"}
    body = json.loads(done.stdout)
    inside = sum(body["seconds"].values())
    return {"wall": seconds, "cpu": cpu, "seconds": inside, "chunks": summarized(body)}


def children_cpu() -> float:
    """CPU seconds (user and system, every thread) of the finished child processes so far."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def child(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    if args.child == "generate":
        print(json.dumps(generate(args, folder)))
        return
    try:
        run = {"keel": keel_api, "nannyml": nannyml, "evidently": evidently}[args.child]
        result = run(folder, args.chunk_rows, args.task)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc.name})"}))
        return
    print(json.dumps(result))


def timed(python: str, args: list[str], timeout: float) -> dict[str, Any]:
    """``spawn`` with the whole process's wall time and CPU seconds."""
    start, cpu = time.perf_counter(), children_cpu()
    result = spawn(python, __file__, args, timeout)
    return {"wall": time.perf_counter() - start, "cpu": children_cpu() - cpu, **result}


def accuracy(result: dict[str, Any], truth: dict[str, list[float]], name: str) -> str:
    estimates = [c["estimated"].get(name) for c in result["chunks"]]
    if not all(estimates):
        return f"{'-':>7} {'-':>6}"
    real = truth[name]
    error = sum(abs(e[0] - t) for e, t in zip(estimates, real, strict=True)) / len(real)
    held = sum(e[1] <= t <= e[2] for e, t in zip(estimates, real, strict=True))
    return f"{error:>7.4f} {held:>3}/{len(real):<2}"


def row(
    tool: str, result: dict[str, Any], truth: dict[str, list[float]], chunks: int, task: str
) -> str:
    if "error" in result:
        return f"{tool:<16} {result['error']}"
    if len(result["chunks"]) != chunks:
        return f"{tool:<16} reported {len(result['chunks'])} chunks, expected {chunks}"
    what = kinds(chunks)
    alerted = [c["alerted"] for c in result["chunks"]]
    false = sum(a for a, k in zip(alerted, what, strict=True) if k == STATIONARY)
    caught = sum(a for a, k in zip(alerted, what, strict=True) if k != STATIONARY)
    return (
        f"{tool:<16} {result['wall']:>7.2f} {result['cpu']:>7.2f} {result['seconds']:>7.2f}"
        f" {' '.join(accuracy(result, truth, name) for name in METRICS[task])}"
        f" {false:>5}/{what.count(STATIONARY):<3} {caught:>5}/{chunks - what.count(STATIONARY)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reference-rows", type=int, default=20_000)
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--chunks", type=int, default=10)
    parser.add_argument("--task", choices=("classification", "regression"), default=None)
    parser.add_argument("--python-peers", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--python-drift-peers", default=str(PEERS), help="interpreter with peers")
    parser.add_argument("--no-peers", action="store_true", help="run Keel alone")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.chunks < 5:
        parser.error("--chunks must be at least 5 (the last four are incidents)")
    if args.child:
        child(args)
        return
    for task in [args.task] if args.task else ["classification", "regression"]:
        args.task = task
        report(args)


def report(args: argparse.Namespace) -> None:
    """One task's table."""
    task, (first, second) = args.task, METRICS[args.task]
    print(f"\n--- {task} ---\n{load_note()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="keel-monitor-files-") as tmp:
        sizes = [
            "--chunk-rows", str(args.chunk_rows), "--chunks", str(args.chunks),
            "--reference-rows", str(args.reference_rows), "--task", task, "--data", tmp,
        ]  # fmt: skip
        made = spawn(sys.executable, __file__, ["--child", "generate", *sizes], 900)
        if "error" in made:
            raise SystemExit(f"generating the data: {made['error']}")
        truth = json.loads((Path(tmp) / "truth.json").read_text())
        print(
            f"reference {args.reference_rows:,} labelled rows; {args.chunks} chunks of"
            f" {args.chunk_rows:,} rows ({args.chunks - 4} stationary, 2 quality incident,"
            f" 2 harder); realized {first} {min(truth[first]):.4f} to {max(truth[first]):.4f}"
        )
        print(
            f"\n{'tool':<16} {'wall s':>7} {'cpu s':>7} {'in s':>7} {first[:3] + ' err':>7}"
            f" {'held':>6}"
            f" {second[:3] + ' err':>7} {'held':>6} {'false alarms':>9} {'caught':>9}"
        )
        results = {
            "keel (command)": keel_cli(Path(tmp), args.chunk_rows, task),
            "keel (in-proc)": timed(sys.executable, ["--child", "keel", *sizes], args.timeout),
        }
        if not args.no_peers:
            for tool in ("nannyml", "evidently"):
                python = args.python_drift_peers
                results[tool] = timed(python, ["--child", tool, *sizes], args.timeout)
        for tool, result in results.items():
            print(row(tool, result, truth, args.chunks, task))
    if args.no_peers:
        print("\nthe peers were not run (--no-peers)")
    print(
        "\nwall s: the whole process, start-up and imports included; cpu s: its CPU seconds (all"
        " threads; less inflated by other load than wall times); in s: the work in process"
        " (Keel's command: the times it reports); err: mean absolute error of the estimate"
        " against the realized value per chunk; held: chunks whose interval held it; false"
        " alarms: stationary chunks with any alert; caught: incident chunks with any alert."
        f" Telemetry off: {', '.join(QUIET)}."
    )
    print(load_note())


if __name__ == "__main__":
    main()
