"""Row validation throughput and peak memory: Keel vs pandera vs Great Expectations.

Every tool checks the same rules on the same 20-column frame (id, 12 floats, 4 ints, 2 categories,
1 bool), once clean and once with about 1% bad rows, and must collect every failure case (Keel:
rejected rows with their reasons; pandera: ``lazy=True`` failure cases; GX: ``COMPLETE`` results
with unexpected indexes). The frames are written once to Parquet by a generator subprocess, which
also counts the failing rows and failure cases with plain Polars expressions; each tool must find
exactly those (the ``ok`` column).

Each (tool, rows, clean|dirty) case runs in its own subprocess: it loads the Parquet file (not
timed), then times the validation call alone. ``data MB`` is the process's RSS after loading;
``peak MB`` is its peak RSS during validation (the high-water mark is reset after loading, so the
peak of loading and converting the frame does not count). Keel runs in this interpreter's
environment; the peers run in the interpreter given by ``--python-peers`` (a venv built from
benchmarks/requirements-peers.txt). A case that runs out of time or memory is a row of the table.

    .venv/bin/python benchmarks/validation.py --rows 1000000 10000000 \
        --python-peers .venv-bench/bin/python
"""

# ruff: noqa: PLC0415  (each tool is imported only in its own subprocess and venv)
from __future__ import annotations

import argparse
import gc
import json
import os
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _peers import spawn as run_script

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / ".venv-bench" / "bin" / "python"
N_FLOAT, N_INT, N_CAT = 12, 4, 2
CATS = ["car", "home", "education", "business", "other"]
ID_REGEX = r"^a-[0-9]+$"
LOW, HIGH = 0.0, 1000.0  # floats: nullable, finite, in [LOW, HIGH]
INT_LOW, INT_HIGH = 18, 100
NULL_FLOAT = "f2"  # the nullable floats hold some nulls in both cases: every tool must accept them
SPOILERS = 7  # kinds of bad value, see ``_spoil``
REPEAT_BUDGET = 60.0  # seconds of timed runs after which a case repeats no more
RULES = (
    "rules per tool: 20 dtype, 8 not-null (id, ints, categories, flag), id unique, id regex,"
    " 16 ranges (floats nullable, finite), 2 allowed sets = 48"
)

Validate = Callable[[], Any]
Count = Callable[[Any], tuple[int, int]]


# --- data ------------------------------------------------------------------------------------


def make_frame(rows: int, dirty: bool, seed: int = 0) -> Any:
    """The benchmark frame; about 1% of rows hold exactly one bad value when ``dirty``."""
    import numpy as np
    import polars as pl

    rng = np.random.default_rng(seed)
    index = pl.int_range(rows, eager=True)
    columns: dict[str, Any] = {"id": ("a-" + index.cast(pl.String)).rename("id")}
    for i in range(N_FLOAT):
        columns[f"f{i}"] = pl.Series(f"f{i}", rng.normal(100.0, 10.0, rows))
    columns[NULL_FLOAT] = columns[NULL_FLOAT].scatter(
        np.flatnonzero(rng.random(rows) < 0.005), None
    )
    for i in range(N_INT):
        columns[f"i{i}"] = pl.Series(f"i{i}", rng.integers(INT_LOW, INT_HIGH, rows))
    for i in range(N_CAT):
        columns[f"c{i}"] = pl.Series(CATS).gather(rng.integers(0, len(CATS), rows)).rename(f"c{i}")
    columns["flag"] = pl.Series("flag", rng.random(rows) < 0.5)
    frame = pl.DataFrame(list(columns.values()))
    return _spoil(frame, rng) if dirty else frame


def _spoil(frame: Any, rng: Any) -> Any:
    """About 1% of rows get one bad value, one kind per row, covering every family of rule.

    A non-finite float is +inf, not NaN: pandas (and so GX) reads NaN as null, which a nullable
    column accepts, whereas Keel and pandera reject NaN.
    """
    import numpy as np
    import polars as pl

    rows = frame.height
    kinds = np.where(rng.random(rows) < 0.01, rng.integers(0, SPOILERS, rows), -1)
    kind = pl.Series("kind", kinds)
    other = frame["id"].gather((np.arange(rows) + rows // 2) % rows)

    def spoil(k: int, column: str, bad: Any) -> Any:
        return pl.when(kind == k).then(bad).otherwise(pl.col(column)).alias(column)

    return frame.with_columns(
        spoil(0, "f0", pl.lit(-1.0)),  # below the minimum
        spoil(1, "f1", pl.lit(float("inf"))),  # not finite
        spoil(2, "i0", pl.lit(500)),  # above the maximum
        spoil(3, "c0", pl.lit("boat")),  # not an allowed value
        spoil(4, "c1", pl.lit(None, pl.String)),  # missing
        pl.when(kind == 5)  # not matching the regex
        .then("x-" + pl.col("id").str.slice(2))
        .when(kind == 6)  # a duplicate of another row's id: both rows fail
        .then(other)
        .otherwise(pl.col("id"))
        .alias("id"),
    )


def expected_failures(frame: Any) -> tuple[int, int]:
    """(failing rows, failure cases) by the rules, written plainly in Polars: the answer key."""
    import polars as pl

    ident = pl.col("id")
    cases = [ident.is_null(), ~ident.str.contains(ID_REGEX), ident.is_duplicated()]
    cases += [~pl.col(f"f{i}").is_between(LOW, HIGH) for i in range(N_FLOAT)]  # NaN, inf fail
    for i in range(N_INT):
        column = pl.col(f"i{i}")
        cases += [column.is_null(), ~column.is_between(INT_LOW, INT_HIGH)]
    for i in range(N_CAT):
        column = pl.col(f"c{i}")
        cases += [column.is_null(), ~column.is_in(CATS)]
    cases.append(pl.col("flag").is_null())
    masks = frame.select(c.fill_null(False).alias(f"m{n}") for n, c in enumerate(cases))
    failing = masks.select(pl.any_horizontal(pl.all()).sum()).item()
    return int(failing), int(masks.select(pl.sum_horizontal(pl.all().sum())).item())


def generate(rows: int, folder: Path) -> dict[str, Any]:
    """Write clean.parquet and dirty.parquet for ``rows``; return the expected counts."""
    expected: dict[str, Any] = {}
    for case in ("clean", "dirty"):
        frame = make_frame(rows, dirty=case == "dirty")
        frame.write_parquet(folder / f"{case}.parquet")
        expected[case] = expected_failures(frame)
        del frame
    return expected


# --- the tools: each returns (validate, count) once its data is loaded ------------------------


def keel_contract() -> dict[str, Any]:
    """The contract as keel.yaml would declare it."""
    columns: dict[str, Any] = {"id": {"type": "string", "unique": True, "regex": ID_REGEX}}
    for i in range(N_FLOAT):
        columns[f"f{i}"] = {"type": "float", "min": LOW, "max": HIGH, "nullable": True}
    for i in range(N_INT):
        columns[f"i{i}"] = {"type": "int", "min": INT_LOW, "max": INT_HIGH}
    for i in range(N_CAT):
        columns[f"c{i}"] = {"type": "category", "values": CATS}
    columns["flag"] = {"type": "bool"}
    return {"columns": columns, "max_reject_fraction": 0.05}


def keel_schema() -> Any:
    """The contract with ``id`` as the entity (so it must also be unique and present)."""
    from keel.data import Contract, DataSchema

    return DataSchema(Contract.model_validate(keel_contract()), entity="id")


def count_keel_checks() -> int:
    """Row-level checks Keel evaluates here (floats have 3: not_finite, below_min, above_max)."""
    from keel.data import RowCode
    from keel.data.row_checks import build_checks, parse_all

    frame = make_frame(10, dirty=False)
    schema = keel_schema()
    checks = build_checks(frame, schema, parse_all(frame, schema, from_text=False))
    return sum(c.code is not RowCode.EXISTING_ID for c in checks)  # no known ids: not evaluated


def keel(path: Path, chunk: int) -> tuple[Validate, Count]:
    """``validate_batch``: every row and batch check, rejected rows carry their reasons."""
    from datetime import UTC, datetime

    import polars as pl

    from keel.data import REASONS_COLUMN, validate_batch

    frame = pl.read_parquet(path)
    schema = keel_schema()

    def validate() -> Any:
        return validate_batch(frame, schema, now=datetime.now(UTC), chunk_rows=chunk)

    def count(report: Any) -> tuple[int, int]:
        rejected = report.rows.rejected
        reasons = rejected[REASONS_COLUMN].list.len()
        if rejected.height and reasons.min() == 0:
            raise AssertionError("a rejected row has no reason")
        return rejected.height, int(reasons.sum())

    return validate, count


def pandera(path: Path) -> tuple[Validate, Count]:
    """pandera's Polars backend, ``lazy=True`` so that every failure case is collected."""
    import pandera.polars as pa
    import polars as pl

    frame = pl.read_parquet(path)
    columns: dict[str, Any] = {
        "id": pa.Column(str, pa.Check.str_matches(ID_REGEX), unique=True),
        "flag": pa.Column(bool),
    }
    for i in range(N_FLOAT):
        columns[f"f{i}"] = pa.Column(float, pa.Check.in_range(LOW, HIGH), nullable=True)
    for i in range(N_INT):
        columns[f"i{i}"] = pa.Column(int, pa.Check.in_range(INT_LOW, INT_HIGH))
    for i in range(N_CAT):
        columns[f"c{i}"] = pa.Column(str, pa.Check.isin(CATS))
    schema = pa.DataFrameSchema(columns)

    def validate() -> Any:
        try:
            schema.validate(frame, lazy=True)
        except pa.errors.SchemaErrors as exc:
            return exc.failure_cases
        return None

    def count(cases: Any) -> tuple[int, int]:
        if cases is None:
            return 0, 0
        return cases["index"].drop_nulls().n_unique(), cases.height

    return validate, count


def gx(path: Path) -> tuple[Validate, Count]:
    """Great Expectations 1.x on pandas (it has no Polars source), ephemeral context."""
    import great_expectations as gx
    import great_expectations.expectations as gxe
    import pandas as pd
    from great_expectations.data_context.types.base import ProgressBarsConfig

    frame = pd.read_parquet(path)
    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("bench")
    batch = source.add_dataframe_asset("frame").add_batch_definition_whole_dataframe("all")
    suite = context.suites.add(gx.ExpectationSuite(name="bench"))
    for name, dtype in frame.dtypes.items():
        suite.add_expectation(gxe.ExpectColumnValuesToBeOfType(column=str(name), type_=str(dtype)))
    for expectation in _gx_expectations(gxe):
        suite.add_expectation(expectation)

    def validate() -> Any:
        data = batch.get_batch(batch_parameters={"dataframe": frame})
        return data.validate(suite, result_format="COMPLETE")

    def count(result: Any) -> tuple[int, int]:
        failing: set[int] = set()
        cases = 0
        for item in result.results:
            if item.exception_info.get("raised_exception"):
                raise RuntimeError(item.exception_info["exception_message"])
            indexes = item.result.get("unexpected_index_list") or []
            failing.update(indexes)
            cases += len(indexes) or int(not item.success)
        return len(failing), cases

    return validate, count


def _gx_expectations(gxe: Any) -> list[Any]:
    """The rules other than the dtypes, as GX expectations (between and in-set skip nulls)."""
    items = [
        gxe.ExpectColumnValuesToNotBeNull(column="id"),
        gxe.ExpectColumnValuesToBeUnique(column="id"),
        gxe.ExpectColumnValuesToMatchRegex(column="id", regex=ID_REGEX),
        gxe.ExpectColumnValuesToNotBeNull(column="flag"),
    ]
    for i in range(N_FLOAT):
        items.append(
            gxe.ExpectColumnValuesToBeBetween(column=f"f{i}", min_value=LOW, max_value=HIGH)
        )
    for i in range(N_INT):
        items.append(gxe.ExpectColumnValuesToNotBeNull(column=f"i{i}"))
        items.append(
            gxe.ExpectColumnValuesToBeBetween(column=f"i{i}", min_value=INT_LOW, max_value=INT_HIGH)
        )
    for i in range(N_CAT):
        items.append(gxe.ExpectColumnValuesToNotBeNull(column=f"c{i}"))
        items.append(gxe.ExpectColumnValuesToBeInSet(column=f"c{i}", value_set=CATS))
    return items


# --- one case per subprocess ------------------------------------------------------------------


def _memory_kb(field: str) -> int:
    """VmRSS or VmHWM of this process, from /proc (Linux)."""
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def _reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def measure(prepare: Callable[[], tuple[Validate, Count]], repeat: int) -> dict[str, Any]:
    """Load (untimed), then time up to ``repeat`` validations and take the peak RSS during them.

    Repeats stop once the runs took ``REPEAT_BUDGET`` seconds, so a slow case runs once or twice.
    """
    validate, count = prepare()
    gc.collect()
    data_kb = _memory_kb("VmRSS")
    reset = _reset_peak()
    times: list[tuple[float, float]] = []  # (wall, CPU) seconds of each run
    result: Any = None
    while len(times) < repeat and sum(wall for wall, _ in times) < REPEAT_BUDGET:
        result = None
        gc.collect()
        start, cpu = time.perf_counter(), time.process_time()
        result = validate()
        times.append((time.perf_counter() - start, time.process_time() - cpu))
    peak_kb = _memory_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    failing, cases = count(result)
    return {
        "seconds": min(times)[0],
        "cpu_seconds": min(times)[1],
        "runs": len(times),
        "data_mb": data_kb / 1024,
        "peak_mb": peak_kb / 1024,
        "peak_includes_load": not reset,
        "failing": failing,
        "cases": cases,
    }


def child(args: argparse.Namespace) -> None:
    """Run one case, or generate the data, and print the outcome as one line of JSON."""
    path = Path(args.data)
    if args.child == "generate":
        print(json.dumps(generate(args.rows[0], path)))
        return
    prepare = {
        "keel": lambda: keel(path, args.chunk),
        "pandera": lambda: pandera(path),
        "gx": lambda: gx(path),
    }[args.child]
    try:
        outcome = measure(prepare, args.repeat)
    except ImportError as exc:
        outcome = {"error": f"not installed ({exc.name})"}
    print(json.dumps(outcome))


def spawn(python: str, command: list[str], timeout: float) -> dict[str, Any]:
    """Run this script in a fresh interpreter; a missing one, a timeout or a kill is a result."""
    return run_script(python, __file__, command, timeout)


# --- the table --------------------------------------------------------------------------------

HEADER = (
    f"{'tool':<8} {'rows':>11} {'case':<6} {'best s':>7} {'cpu s':>7} {'runs':>4} {'rows/s':>11}"
    f" {'data MB':>8} {'peak MB':>8} {'failing rows':>12} {'fail cases':>10} {'ok':>3}"
)


def row(tool: str, rows: int, case: str, result: dict[str, Any], expected: list[int]) -> str:
    """One line of the table; ``ok`` says whether the tool found exactly the expected failures."""
    if "error" in result:
        return f"{tool:<8} {rows:>11,} {case:<6} {result['error']}"
    rate = rows / result["seconds"]
    ok = "yes" if [result["failing"], result["cases"]] == list(expected) else "NO"
    peak = f"{result['peak_mb']:,.0f}" + ("*" if result["peak_includes_load"] else "")
    return (
        f"{tool:<8} {rows:>11,} {case:<6} {result['seconds']:>7.2f} {result['cpu_seconds']:>7.2f}"
        f" {result['runs']:>4}"
        f" {rate:>11,.0f} {result['data_mb']:>8,.0f} {peak:>8} {result['failing']:>12,}"
        f" {result['cases']:>10,} {ok:>3}"
    )


def run_size(rows: int, folder: Path, tools: list[str], args: argparse.Namespace) -> list[str]:
    """Generate the frames for ``rows``, then print one line per (case, tool); return them."""
    folder.mkdir()
    made = spawn(
        sys.executable, ["--child", "generate", "--rows", str(rows), "--data", str(folder)], 3600
    )
    if "error" in made:
        raise SystemExit(f"generating {rows:,} rows: {made['error']}")
    print(
        f"\n{rows:,} rows; expected in the dirty frame: {made['dirty'][0]:,} failing rows,"
        f" {made['dirty'][1]:,} failure cases"
    )
    print(HEADER, flush=True)
    lines: list[str] = []
    for case in ("clean", "dirty"):
        data = str(folder / f"{case}.parquet")
        for tool in tools:
            python = sys.executable if tool == "keel" else args.python_peers
            command = ["--child", tool, "--data", data, "--chunk", str(args.chunk)]
            command += ["--repeat", str(args.repeat)]
            lines.append(row(tool, rows, case, spawn(python, command, args.timeout), made[case]))
            print(lines[-1], flush=True)
    return lines


def parse_args() -> argparse.Namespace:
    """The options of the parent and of a child."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000_000])
    parser.add_argument("--python-peers", default=str(PEERS), help="interpreter with the peers")
    parser.add_argument("--no-peers", action="store_true", help="run Keel alone")
    parser.add_argument("--tools", nargs="+", default=["keel", "pandera", "gx"])
    parser.add_argument("--chunk", type=int, default=1_000_000, help="Keel's chunk_rows")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case, best counts")
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds per case")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    return parser.parse_args()


def main() -> None:
    """As parent: generate the data per size, run every case, print the table."""
    args = parse_args()
    if args.child:
        child(args)
        return
    tools = ["keel"] if args.no_peers else args.tools
    print(f"{RULES}; Keel: {count_keel_checks()} row checks + batch checks, chunk {args.chunk:,}")
    print(
        f"best s: fastest of up to {args.repeat} runs ({REPEAT_BUDGET:.0f} s budget), cpu s: its"
        " CPU time (all threads); data MB: RSS with the frame loaded; peak MB: peak RSS during"
        " the runs; ok: failing rows and failure cases as expected",
        flush=True,
    )
    print(_load_note(), flush=True)
    lines: list[str] = []
    with tempfile.TemporaryDirectory(prefix="keel-bench-") as tmp:
        for rows in args.rows:
            lines += run_size(rows, Path(tmp) / str(rows), tools, args)
    print(f"\n{_load_note()}")
    if any("*" in line for line in lines):
        print("* includes loading the frame: this kernel cannot reset the peak RSS")


def _load_note() -> str:
    """Times are only comparable on an otherwise idle machine: say how busy it is."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = "" if load < 0.5 else "  (other processes compete for the CPU: times are inflated)"
    return f"load average (1 min): {load:.2f} on {cores} cores{busy}"


if __name__ == "__main__":
    main()
