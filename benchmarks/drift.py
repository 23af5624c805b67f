"""Univariate drift on a million rows: Keel vs Evidently's data-drift report vs NannyML.

A reference and a current table of ``--rows`` rows x 20 columns (12 floats, 4 integers,
4 categories) are written to Parquet once. The current table has six scripted drifts, from
tiny to plain (the ``DRIFTS`` table); the other 14 columns are stationary. Each tool compares
the two tables in its own subprocess: loading is not timed, then the whole comparison is
(profiling the reference, thresholds, every statistic):

* Keel, whole command: ``keel drift reference.parquet current.parquet --json`` as a user runs
  it (process start, reading both files, profiling, every statistic): wall, CPU and peak RSS of
  the whole process. Each peer's whole process (interpreter start, imports, reading, comparison)
  is printed under its row.
* Keel: ``detect_drift`` with its defaults (PSI, Jensen-Shannon, Wasserstein and KS on numeric
  columns, PSI, Jensen-Shannon and chi-square on categorical ones; thresholds calibrated at a 1%
  false-alarm rate per column).
* Evidently 0.7.23: ``Report([DataDriftPreset()])``, its defaults (one statistic per column,
  normalized Wasserstein or Jensen-Shannon at 0.1 on large samples).
* NannyML 0.13.1: ``UnivariateDriftCalculator`` with KS, Jensen-Shannon and Wasserstein on
  continuous columns and chi-square and Jensen-Shannon on categorical ones, in chunks of 100k
  rows (its thresholds come from the spread over reference chunks, so the reference must have
  several); a column counts as flagged when any chunk alerts.

``peak MB`` is the peak RSS during the comparison (reset after loading). The peers run in
.venv-bench-drift (see benchmarks/requirements-peers-drift.txt).

    .venv/bin/python benchmarks/drift.py --rows 1000000
"""

# ruff: noqa: PLC0415  (each tool is imported only in its own subprocess and venv)
from __future__ import annotations

import argparse
import gc
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _peers import PEERS, load_note, memory_kb, peak_mb, reset_peak, spawn

LEVELS = ["car", "home", "education", "business", "other"]
DRIFTS = {
    "f0": "mean +0.01 sd",
    "f1": "mean +0.2 sd",
    "f2": "scale x1.03",
    "i0": "+1 on 18..90",
    "c0": "new level, 0.5%",
    "c1": "2 points of share moved",
}


# --- data ------------------------------------------------------------------------------------


def make_table(rows: int, seed: int, drifted: bool) -> Any:
    """The 20 columns; with ``drifted``, the six scripted drifts of ``DRIFTS``."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    columns: dict[str, Any] = {}
    for i in range(12):
        kind = i % 4
        if kind == 0:
            values = rng.normal(100.0, 15.0, rows)
        elif kind == 1:
            values = np.exp(rng.normal(10.0, 0.7, rows))
        elif kind == 2:
            values = rng.exponential(3.0, rows)
        else:
            values = rng.uniform(0.0, 1.0, rows)
        if i in (3, 7):
            values[rng.random(rows) < 0.03] = np.nan
        columns[f"f{i}"] = values
    for i in range(4):
        columns[f"i{i}"] = rng.integers(18, 91, rows)
    shares = np.array([0.3, 0.25, 0.2, 0.15, 0.1])
    for i in range(4):
        p = shares + (np.array([-0.02, 0.02, 0, 0, 0]) if drifted and i == 1 else 0)
        columns[f"c{i}"] = np.array(LEVELS)[rng.choice(5, rows, p=p)]
    if drifted:
        columns["f0"] = columns["f0"] + 0.01 * 15.0
        columns["f1"] = columns["f1"] * np.exp(0.2 * 0.7)  # 0.2 sd on the log scale
        columns["f2"] = columns["f2"] * 1.03
        columns["i0"] = columns["i0"] + 1
        columns["c0"] = np.where(rng.random(rows) < 0.005, "crypto", columns["c0"])
    frame = pl.DataFrame(columns)
    return frame.with_columns(pl.col("f3", "f7").fill_nan(None))


def generate(rows: int, folder: Path) -> dict[str, Any]:
    """Write reference.parquet and current.parquet."""
    make_table(rows, 1, drifted=False).write_parquet(folder / "reference.parquet")
    make_table(rows, 2, drifted=True).write_parquet(folder / "current.parquet")
    return {"written": True}


# --- the tools: each loads, then returns a function that compares and lists flagged columns ---


def keel(folder: Path) -> Any:
    import polars as pl

    from keel.monitoring import detect_drift

    reference = pl.read_parquet(folder / "reference.parquet")
    current = pl.read_parquet(folder / "current.parquet")

    def run() -> list[str]:
        return list(detect_drift(reference, current).drifted_columns)

    return run


def evidently(folder: Path) -> Any:
    import pandas as pd
    from evidently import Report
    from evidently.presets import DataDriftPreset

    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")

    def run() -> list[str]:
        snapshot = Report([DataDriftPreset()]).run(current_data=current, reference_data=reference)
        flagged = []
        for metric in snapshot.dict()["metrics"]:
            config = metric["config"]
            if not config["type"].endswith("ValueDrift"):
                continue
            value, threshold = metric["value"], config["threshold"]
            p_value = "p_value" in str(config["method"]).lower()
            if (value < threshold) if p_value else (value >= threshold):
                flagged.append(config["column"])
        return flagged

    return run


def nannyml(folder: Path) -> Any:
    import nannyml as nml
    import pandas as pd

    reference = pd.read_parquet(folder / "reference.parquet")
    current = pd.read_parquet(folder / "current.parquet")

    def run() -> list[str]:
        calculator = nml.UnivariateDriftCalculator(
            column_names=list(reference.columns),
            continuous_methods=["kolmogorov_smirnov", "jensen_shannon", "wasserstein"],
            categorical_methods=["chi2", "jensen_shannon"],
            chunk_size=100_000,
        )
        calculator.fit(reference)
        table = calculator.calculate(current).filter(period="analysis").to_df()
        alerts = [c for c in table.columns if c[-1] == "alert"]
        return sorted({c[0] for c in alerts if bool(table[c].any())}, key=list(reference).index)

    return run


def child(args: argparse.Namespace) -> None:
    """Run one case (or generate the data) and print one line of JSON."""
    folder = Path(args.data)
    if args.child == "generate":
        print(json.dumps(generate(args.rows, folder)))
        return
    try:
        run = {"keel": keel, "evidently": evidently, "nannyml": nannyml}[args.child](folder)
    except ImportError as exc:
        print(json.dumps({"error": f"not installed ({exc.name})"}))
        return
    gc.collect()
    data_kb = memory_kb("VmRSS")
    reset = reset_peak()
    start, cpu = time.perf_counter(), time.process_time()
    flagged = run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    print(
        json.dumps(
            {
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "data_mb": data_kb / 1024,
                "peak_mb": peak_mb(reset),
                "flagged": flagged,
            }
        )
    )


def command(folder: Path) -> dict[str, Any]:
    """``keel drift REF CUR --json`` as a user runs it: the whole process (start-up, reading
    both files, profiling the reference, every statistic), its wall time, CPU and peak RSS."""
    import os
    import subprocess

    keel_command = Path(sys.executable).parent / "keel"
    argv = [str(keel_command), "drift", "reference.parquet", "current.parquet", "--json"]
    start = time.perf_counter()
    process = subprocess.Popen(argv, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        return {"error": f"failed: {err.decode(errors='replace').strip()[-120:]}"}
    report = json.loads(out)
    return {
        "seconds": seconds,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "data_mb": 0.0,
        "peak_mb": usage.ru_maxrss / 1024,
        "flagged": report["drifted_columns"],
    }


# --- the table --------------------------------------------------------------------------------


def row(tool: str, result: dict[str, Any]) -> str:
    """One tool's line; ``keel drift`` is the whole command (its peak is the process's)."""
    if "error" in result:
        return f"{tool:<10} {result['error']}"
    flagged = result["flagged"]
    caught = [name for name in DRIFTS if name in flagged]
    false = [name for name in flagged if name not in DRIFTS]
    return (
        f"{tool:<10} {result['seconds']:>8.2f} {result['cpu_seconds']:>8.2f}"
        f" {result['data_mb']:>8,.0f} {result['peak_mb']:>8,.0f} {len(flagged):>8}"
        f"  caught {','.join(caught) or '-'}; false alarms {','.join(false) or '-'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--python-peers", default=None, help=argparse.SUPPRESS)
    parser.add_argument(
        "--python-drift-peers", default=str(PEERS), help="interpreter with the peers"
    )
    parser.add_argument("--no-peers", action="store_true", help="run Keel alone")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per tool")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    tools = ["keel"] if args.no_peers else ["keel", "evidently", "nannyml"]
    print(
        f"{args.rows:,} rows x 20 columns per table; scripted drifts: "
        + "; ".join(f"{k} {v}" for k, v in DRIFTS.items())
    )
    print(load_note(), flush=True)
    with tempfile.TemporaryDirectory(prefix="keel-drift-") as tmp:
        made = spawn(
            sys.executable,
            __file__,
            ["--child", "generate", "--rows", str(args.rows), "--data", tmp],
            900,
        )
        if "error" in made:
            raise SystemExit(f"generating the tables: {made['error']}")
        header = f"{'tool':<10} {'wall s':>8} {'cpu s':>8} {'data MB':>8} {'peak MB':>8}"
        print(f"\n{header} {'flagged':>8}")
        print(row("keel drift", command(Path(tmp))), flush=True)
        for tool in tools:
            python = sys.executable if tool == "keel" else args.python_drift_peers
            started = time.perf_counter()
            result = spawn(python, __file__, ["--child", tool, "--data", tmp], args.timeout)
            whole = time.perf_counter() - started
            print(row(tool, result), flush=True)
            if "error" not in result:
                print(f"{'':<10} whole process (start-up, imports, reading): {whole:.2f} s")
    print(f"\n{load_note()}")


if __name__ == "__main__":
    main()
