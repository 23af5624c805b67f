"""``keel score``, ``keel predictions export`` and ``keel lineage`` on a served project."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import polars as pl
import pytest

from keel.config import load_project
from keel.simulate import simulate_frame
from tests.api.conftest import PROJECT, logged
from tests.api.live import Server, run_keel


@pytest.fixture(scope="module")
def client(shared_server: Server) -> Iterator[httpx.Client]:
    with shared_server.client() as client:
        yield client


def ok(*args: str, cwd: Path) -> Any:
    done = run_keel(*args, "--json", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_batch_scores_are_the_services_scores(
    client: httpx.Client, shared_project: Path, tmp_path: Path
) -> None:
    frame = simulate_frame(rows=500, seed=21, start=datetime(2024, 5, 1), end=datetime(2024, 5, 8))
    frame.write_parquet(tmp_path / "applications.parquet")
    out = tmp_path / "scored.parquet"
    summary = ok(
        "score", str(tmp_path / "applications.parquet"), "--out", str(out), cwd=shared_project
    )
    assert (summary["rows_in"], summary["scored"], summary["rejected"]) == (500, 500, 0)
    assert summary["model"] == f"{PROJECT}/v1"
    scored = pl.read_parquet(out)
    records = frame.drop("defaulted", "applied_at").to_dicts()
    served = client.post("/v1/predict", json={"records": records}).json()["predictions"]
    assert scored["application_id"].to_list() == [a["entity_id"] for a in served]
    assert scored["score"].to_list() == [a["score"] for a in served]
    flagged = 0
    for decision, answer in zip(scored["decision"].to_list(), served, strict=True):
        if answer["ood"]:  # the service sends out-of-distribution records to review
            flagged += 1
        else:
            assert decision == answer["decision"]
    assert flagged < len(served) / 2


def test_export_writes_every_logged_prediction(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path, tmp_path: Path
) -> None:
    client.post("/v1/predict", json={"records": records[100:110]})
    out = tmp_path / "log.parquet"
    body = ok("predictions", "export", "--out", str(out), cwd=shared_project)
    exported = pl.read_parquet(out)
    assert body["rows"] == exported.height >= 10
    assert set(exported["prediction_id"]) == {r["prediction_id"] for r in logged(shared_project)}
    assert {"request_id", "prediction_id", "time", "model", "inputs", "score", "route"} <= set(
        exported.columns
    )


def test_lineage_traces_a_prediction_to_its_source_batches(
    client: httpx.Client, records: list[dict[str, Any]], shared_project: Path
) -> None:
    [answer] = client.post("/v1/predict", json={"records": records[200:201]}).json()["predictions"]
    trace = ok("lineage", answer["id"], cwd=shared_project)
    assert trace["prediction"]["prediction_id"] == answer["id"]
    assert trace["prediction"]["score"] == answer["score"]
    assert trace["model"]["model"] == f"{PROJECT}/v1" and trace["model"]["run_id"] == "r-0001"
    assert trace["dataset_version"]["label"].endswith("v1")
    served_policy = load_project(shared_project / "keel.yaml").decisions.digest()
    assert trace["prediction"]["policy"] == served_policy  # the policy that decided it
    [batch] = trace["batches"]
    assert batch["source"] == "sim"
    text = run_keel("lineage", answer["id"], cwd=shared_project)
    assert text.returncode == 0 and "└ run r-0001" in text.stdout
    missing = run_keel("lineage", "no-such-id", cwd=shared_project)
    assert missing.returncode != 0 and "keel predictions export" in missing.stderr


def test_score_sets_failing_rows_aside_with_reasons(shared_project: Path, tmp_path: Path) -> None:
    frame = simulate_frame(rows=50, seed=22, start=datetime(2024, 5, 1), end=datetime(2024, 5, 8))
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < 3).then(-5.0).otherwise(pl.col("income")).alias("income")
    )
    bad.write_parquet(tmp_path / "mixed.parquet")
    out = tmp_path / "scored.parquet"
    summary = ok("score", str(tmp_path / "mixed.parquet"), "--out", str(out), cwd=shared_project)
    assert (summary["rows_in"], summary["scored"], summary["rejected"]) == (50, 47, 3)
    rejects = pl.read_parquet(summary["rejects"])
    assert rejects.height == 3 and "income" in " ".join(map(str, rejects.row(0)))
    assert pl.read_parquet(out).height == 47


def test_score_a_dataset_version(shared_project: Path, tmp_path: Path) -> None:
    out = tmp_path / "v1.parquet"
    summary = ok("score", "--data", "v1", "--out", str(out), "--model", "v2", cwd=shared_project)
    assert (summary["rows_in"], summary["scored"], summary["model"]) == (
        6000,
        6000,
        f"{PROJECT}/v2",
    )
    assert pl.read_parquet(out)["model"].unique().to_list() == [f"{PROJECT}/v2"]
