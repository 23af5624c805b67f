"""Drift alarms that mean something: false alarms on stationary chunks and detection delay on
scripted drifts, Keel's calibrated thresholds vs Evidently's defaults.

The loan simulator (``keel.simulate``) writes a clean reference of ``--reference`` rows, a
stationary stream of ``--chunks`` chunks of ``--chunk-rows`` rows (another seed, no incident),
and three streams of ``--drift-chunks`` chunks in which income shifts by 0.05, 0.1 and 0.3
standard deviations from chunk ``--onset`` on (a step ``covariate_drift``). Every chunk of every
stream is compared with the reference by each tool on its 14 features:

* Keel: one ``DriftDetector`` fitted on the reference, default statistics and calibrated
  thresholds (1% false-alarm rate per column).
* Evidently 0.7.23: ``Report([DataDriftPreset()])`` per chunk, its defaults.

The table gives the share of (chunk x feature) checks that alarmed on the stationary stream
(goal for Keel: <= 1%), and per drift size the delay in chunks from the onset to the first chunk
in which income is flagged (``never`` if it is not within the stream), with the false alarms on
the other 13 features of the drifted stream. The peers run in .venv-bench-drift.

    .venv/bin/python benchmarks/drift_quality.py --chunks 200 --chunk-rows 5000
"""

# ruff: noqa: PLC0415  (each tool is imported only in its own subprocess and venv)
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import PEERS, load_note, spawn

SHIFTS = (0.05, 0.1, 0.3)
DROP = ("application_id", "applied_at", "defaulted")
START, END = datetime(2024, 1, 1), datetime(2024, 7, 1)


def generate(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    """Write reference.parquet, stationary.parquet and drift-<shift>.parquet."""
    import polars as pl

    from keel.simulate import CovariateDrift, simulate_frame

    def write(name: str, rows: int, seed: int, *incidents: Any) -> None:
        frame = simulate_frame(rows=rows, seed=seed, start=START, end=END, incidents=incidents)
        frame.drop(DROP).write_parquet(folder / f"{name}.parquet")

    write("reference", args.reference, 1)
    write("stationary", args.chunks * args.chunk_rows, 2)
    at = args.onset / args.drift_chunks
    for i, shift in enumerate(SHIFTS):
        drift = CovariateDrift(column="income", shift=shift, at=at, until=at)
        write(f"drift-{shift}", args.drift_chunks * args.chunk_rows, 3 + i, drift)
    return {"columns": pl.read_parquet_schema(folder / "reference.parquet").names()}


def keel(folder: Path, chunk_rows: int) -> Any:
    import polars as pl

    from keel.monitoring import DriftDetector

    detector = DriftDetector().fit(pl.read_parquet(folder / "reference.parquet"))

    def flagged(stream: str) -> list[list[str]]:
        frame = pl.read_parquet(folder / f"{stream}.parquet")
        return [
            list(detector.check(frame.slice(start, chunk_rows)).drifted_columns)
            for start in range(0, frame.height, chunk_rows)
        ]

    return flagged


def evidently(folder: Path, chunk_rows: int) -> Any:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(folder / "reference.parquet")

    def one(chunk: Any) -> list[str]:
        snapshot = Report([DataDriftPreset()]).run(current_data=chunk, reference_data=reference)
        found = []
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if config["type"].endswith("ValueDrift"):
                value, threshold = metric["value"], config["threshold"]
                p_value = "p_value" in str(config["method"]).lower()
                if (value < threshold) if p_value else (value >= threshold):
                    found.append(config["column"])
        return found

    def flagged(stream: str) -> list[list[str]]:
        frame = pd.read_parquet(folder / f"{stream}.parquet")
        return [
            one(frame.iloc[start : start + chunk_rows].reset_index(drop=True))
            for start in range(0, len(frame), chunk_rows)
        ]

    return flagged


def child(args: argparse.Namespace) -> None:
    folder = Path(args.data)
    if args.child == "generate":
        print(json.dumps(generate(args, folder)))
        return
    try:
        flagged = {"keel": keel, "evidently": evidently}[args.child](folder, args.chunk_rows)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc.name})"}))
        return
    streams = ["stationary", *(f"drift-{shift}" for shift in SHIFTS)]
    start = time.perf_counter()
    result = {stream: flagged(stream) for stream in streams}
    print(json.dumps({"streams": result, "seconds": time.perf_counter() - start}))


def summary(result: dict[str, Any], columns: list[str], onset: int) -> str:
    """One line: the stationary false-alarm rate, then per shift the delay and false alarms."""
    stationary = result["streams"]["stationary"]
    alarms = sum(len(chunk) for chunk in stationary)
    checks = len(stationary) * len(columns)
    parts = [f"{alarms / checks:>8.2%} ({alarms}/{checks})"]
    for shift in SHIFTS:
        chunks = result["streams"][f"drift-{shift}"]
        hits = [i for i, chunk in enumerate(chunks) if i >= onset and "income" in chunk]
        delay = f"{hits[0] - onset}" if hits else "never"
        others = sum(len([c for c in chunk if c != "income"]) for chunk in chunks)
        rate = others / (len(chunks) * (len(columns) - 1))
        parts.append(f"{delay:>6} / {rate:>6.2%}")
    return "  ".join(parts) + f"  {result['seconds']:>7.1f}"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--reference", type=int, default=50_000, help="reference rows")
    parser.add_argument("--chunks", type=int, default=200, help="stationary chunks")
    parser.add_argument("--chunk-rows", type=int, default=5000)
    parser.add_argument("--drift-chunks", type=int, default=40, help="chunks per drifted stream")
    parser.add_argument("--onset", type=int, default=10, help="first drifted chunk")
    parser.add_argument("--python-peers", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--python-drift-peers", default=str(PEERS), help="interpreter with peers")
    parser.add_argument("--no-peers", action="store_true", help="run Keel alone")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per tool")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        child(args)
        return
    tools = ["keel"] if args.no_peers else ["keel", "evidently"]
    sizes = ["--reference", str(args.reference), "--chunks", str(args.chunks)]
    sizes += ["--chunk-rows", str(args.chunk_rows), "--drift-chunks", str(args.drift_chunks)]
    sizes += ["--onset", str(args.onset)]
    print(
        f"reference {args.reference:,} rows; {args.chunks} stationary chunks of"
        f" {args.chunk_rows:,} rows; income shifted by {', '.join(map(str, SHIFTS))} sd from chunk"
        f" {args.onset} of {args.drift_chunks}"
    )
    print(load_note(), flush=True)
    with tempfile.TemporaryDirectory(prefix="keel-drift-quality-") as tmp:
        made = spawn(sys.executable, __file__, ["--child", "generate", *sizes, "--data", tmp], 1800)
        if "error" in made:
            raise SystemExit(f"generating the streams: {made['error']}")
        columns = made["columns"]
        heads = "  ".join(f"{f'{s} sd: delay / false':>15}" for s in SHIFTS)
        print(f"\n{'tool':<10} {'stationary false alarms':>24}  {heads}  {'wall s':>7}")
        for tool in tools:
            python = sys.executable if tool == "keel" else args.python_drift_peers
            command = ["--child", tool, *sizes, "--data", tmp]
            result = spawn(python, __file__, command, args.timeout)
            if "error" in result:
                print(f"{tool:<10} {result['error']}", flush=True)
                continue
            print(f"{tool:<10} {summary(result, columns, args.onset)}", flush=True)
    print(
        f"\ndelay: chunks from the onset to the first chunk flagging income; false: share of"
        f" checks of the other {len(columns) - 1} features that alarmed in the drifted stream"
    )
    print(load_note())


if __name__ == "__main__":
    main()
