"""Where one ``/v1/predict`` request's time goes: each stage timed in process beside the whole
request on a real ``keel serve`` at concurrency 1, in the same run.

The project is ``benchmarks/serving.py``'s (the loan example's model trained on 50,000 simulated
applications, promoted). In process, over the same 1,000 single-record bodies, one stage after
another as the service runs them: parsing the body (orjson), the contract checks, the features
(the record encoder), the model (LightGBM and its calibration), the out-of-distribution flags,
the decision (the policy deciding the scored record), the durable log (one
record appended and ``fdatasync``-ed, as at concurrency 1 with ``--durability fsync``) and
rendering the answer (orjson). What the whole request takes beyond their sum is the HTTP
server, ASGI, the key guard, asyncio and the hand-off to the log's writer thread. The disk's
``fdatasync`` time is printed too: at concurrency 1 every answer waits for one.

    .venv/bin/python benchmarks/request_breakdown.py [--seconds 10] [--project DIR]
"""

# ruff: noqa: PLC0415  (a script: imports where used)
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import bodies_file, build_project, load, measure, serve_keel, sync_latency


def stage_times(project_dir: Path, bodies: list[bytes], log_dir: Path) -> dict[str, list[float]]:
    """Microseconds of each stage for each body, in the order the service runs them."""
    import orjson

    from keel.app.session import open_project
    from keel.predictions import PredictionRecord
    from keel.serving import Predictor, new_id
    from keel.store.tables.prediction_log import PredictionLog

    keel = open_project(project_dir)
    try:
        registry = keel.registry()
        head, _ = registry.status()
        assert head is not None and head.state.champion is not None
        predictor = Predictor(
            registry.serving_bundle(head.state.champion),
            schema=keel.data_schema(),
            policy=keel.decision_policy(),
            model=f"{keel.project.name}/v{head.state.champion}",
        )
    finally:
        keel.close()
    log = PredictionLog(log_dir, durability="fsync")
    found: dict[str, list[float]] = {}
    clock = time.perf_counter_ns

    def timed(name: str, call: Callable[[], Any]) -> Any:
        started = clock()
        value = call()
        found.setdefault(name, []).append((clock() - started) / 1e3)
        return value

    try:
        for round_ in range(3):  # the first round warms up and is dropped
            if round_ == 1:
                found.clear()
            for body in bodies:
                records = timed("parse the body", lambda b=body: orjson.loads(b)["records"])
                checked = timed("contract checks", lambda r=records: predictor.check(r))
                encoded = timed("features", lambda c=checked: predictor.encoder.encode(c))
                matrix = encoded.matrix
                scores = timed("model", lambda m=matrix: predictor.bundle.score_matrix(m))
                flags = timed(
                    "out-of-distribution flags", lambda e=encoded: predictor.detector.flags(e)
                )
                values = scores.tolist()
                timed(
                    "decision",
                    lambda s=scores, v=values, f=flags, c=checked: predictor._decide(s, v, f, c),
                )
                answers = predictor.predict_checked(checked)
                record = PredictionRecord(
                    request_id=new_id(),
                    prediction_id=new_id(),
                    time=datetime.now(UTC),
                    model=answers[0].model,
                    entity_id=answers[0].entity_id,
                    inputs=checked[0],
                    score=answers[0].score,
                    decision=answers[0].decision,
                    route="champion",
                )
                timed("durable log (append + fdatasync)", lambda r=record: log.append([r]))
                timed(
                    "render the answer",
                    lambda a=answers: orjson.dumps({"predictions": [x.to_dict() for x in a]}),
                )
    finally:
        log.close()
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--project", type=Path, help="reuse (or keep) the project here")
    args = parser.parse_args()
    import orjson

    with tempfile.TemporaryDirectory(prefix="keel-breakdown-") as tmp:
        work = Path(tmp)
        project = build_project(args.project or work / "proj")
        raw = [orjson.dumps({"records": [r]}) for r in project.records]
        sync_p50, _ = sync_latency(work)
        server = serve_keel(project, "fsync", work)
        try:
            whole = measure(
                server.port,
                "/v1/predict",
                bodies_file(work, "keel", raw),
                1,
                args.warmup,
                args.seconds,
            )
        finally:
            server.stop()
        stages = stage_times(project.folder, raw, work / "log")
    order = [
        "parse the body",
        "contract checks",
        "features",
        "model",
        "out-of-distribution flags",
        "decision",
        "durable log (append + fdatasync)",
        "render the answer",
    ]
    request_ms = float(whole["p50_ms"])
    print(f"one record per request, {len(raw):,} bodies; load {load()}")
    print(f"\n{'stage':<36}{'p50 us':>9}{'share of the request':>22}")
    total = 0.0
    for name in order:
        p50 = float(np.percentile(stages[name], 50))
        total += p50
        print(f"{name:<36}{p50:>9.1f}{p50 / 1000 / request_ms:>22.0%}")
    rest = request_ms * 1000 - total
    share = rest / 1000 / request_ms
    print(f"{'HTTP, ASGI, guard, asyncio, hand-offs':<36}{rest:>9.1f}{share:>22.0%}")
    print(f"{'the whole request (keel serve, c=1)':<36}{request_ms * 1000:>9.1f}{'100%':>22}")
    print(
        f"\nfdatasync on this disk: p50 {sync_p50:.3f} ms; the request p50 {request_ms:.3f} ms is"
        f" fdatasync + {request_ms - sync_p50:.3f} ms (issue target: + 0.35 ms)"
    )
    print(f"load {load()}")


if __name__ == "__main__":
    main()
