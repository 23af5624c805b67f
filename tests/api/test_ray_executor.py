"""``--executor ray`` on a real Ray cluster on loopback (a head node and one worker node,
started once for the module by ``tests/raycluster.py``): the output is the local output row for
row, a killed worker costs a retry and never a partial file, a failing block is named."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml
from polars.testing import assert_frame_equal

from keel.simulate import simulate_frame
from tests.api.conftest import PROJECT, RAISES
from tests.api.live import run_keel
from tests.raycluster import CLIENT_ENV, RayCluster, free_ports, start_cluster

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("ray-cluster")]


@pytest.fixture(scope="module")
def cluster() -> Iterator[RayCluster]:
    started = start_cluster()
    try:
        yield started
    finally:
        started.stop()


@contextmanager
def tasks_seen(cluster: RayCluster, title: str) -> Iterator[set[str]]:
    """The ids of the cluster's worker processes seen running ``title`` while the block runs."""
    titles: set[str] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            titles.update(str(pid) for pid in cluster.workers(title))
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        yield titles
    finally:
        done.set()
        watcher.join()


def keel_json(*args: str, cwd: Path, cluster: RayCluster | None = None) -> Any:
    env = {"KEEL_RAY_ADDRESS": cluster.address, **CLIENT_ENV} if cluster is not None else None
    done = run_keel(*args, "--json", cwd=cwd, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def mixed_file(folder: Path, rows: int, *, seed: int, bad_every: int = 97) -> Path:
    """Simulated applications, every ``bad_every``-th with a negative income (a reject)."""
    frame = simulate_frame(
        rows=rows, seed=seed, start=datetime(2024, 5, 1), end=datetime(2024, 6, 1)
    )
    bad = frame.with_columns(
        pl.when(pl.int_range(pl.len()) % bad_every == 5)
        .then(-5.0)
        .otherwise(pl.col("income"))
        .alias("income")
    )
    path = folder / f"applications-{rows}.parquet"
    bad.write_parquet(path)
    return path


def score_both(
    source: list[str], folder: Path, project: Path, cluster: RayCluster, *extra: str
) -> tuple[Any, Any]:
    local = keel_json("score", *source, "--out", str(folder / "local.parquet"), *extra, cwd=project)
    ray = keel_json(
        "score",
        *source,
        "--out",
        str(folder / "ray.parquet"),
        "--executor",
        "ray",
        *extra,
        cwd=project,
        cluster=cluster,
    )
    return local, ray


def same_summary(local: Any, ray: Any) -> None:
    for key in ("rows_in", "scored", "rejected", "decisions", "model"):
        assert local[key] == ray[key], key


def test_ray_scores_a_file_exactly_as_the_local_path(
    cluster: RayCluster, shared_project: Path, tmp_path: Path
) -> None:
    path = mixed_file(tmp_path, 5_000, seed=31)
    local, ray = score_both([str(path)], tmp_path, shared_project, cluster, "--chunk-rows", "1000")
    same_summary(local, ray)
    assert ray["rejected"] == 52 and ray["rows_in"] == 5_000
    assert_frame_equal(pl.read_parquet(local["out"]), pl.read_parquet(ray["out"]))
    assert_frame_equal(pl.read_parquet(local["rejects"]), pl.read_parquet(ray["rejects"]))
    reasons = " ".join(map(str, pl.read_parquet(ray["rejects"]).row(0)))
    assert "income" in reasons


def test_ray_scores_a_dataset_version_exactly_as_the_local_path(
    cluster: RayCluster, shared_project: Path, tmp_path: Path
) -> None:
    local, ray = score_both(
        ["--data", "v1"], tmp_path, shared_project, cluster, "--chunk-rows", "1000"
    )
    same_summary(local, ray)
    assert ray["rows_in"] == 6_000 and ray["model"] == f"{PROJECT}/v1"
    assert_frame_equal(pl.read_parquet(local["out"]), pl.read_parquet(ray["out"]))


def test_a_failing_block_is_named_and_nothing_is_written(
    cluster: RayCluster, shared_project: Path, tmp_path: Path
) -> None:
    path = mixed_file(tmp_path, 3_000, seed=32)
    out = tmp_path / "scored.parquet"
    done = run_keel(
        "score", str(path), "--out", str(out), "--model", f"v{RAISES}", "--chunk-rows", "1000",
        "--executor", "ray", cwd=shared_project,
        env={"KEEL_RAY_ADDRESS": cluster.address, **CLIENT_ENV},
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "block 0 (rows 0-999) failed on the Ray cluster" in done.stderr
    assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]  # no output, no .partial


def test_a_worker_killed_mid_score_costs_a_retry_not_the_output(
    cluster: RayCluster, shared_project: Path, tmp_path: Path
) -> None:
    path = mixed_file(tmp_path, 100_000, seed=33)
    out = tmp_path / "ray.parquet"
    killed: list[int] = []
    final_name_seen: list[bool] = []
    done = threading.Event()

    def kill_one_worker() -> None:
        while not done.is_set() and not killed:
            for pid in cluster.workers("ray::_score_block"):
                final_name_seen.append(out.exists())
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                break
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        ray = keel_json(
            "score", str(path), "--out", str(out), "--chunk-rows", "1000", "--executor", "ray",
            cwd=shared_project, cluster=cluster,
        )  # fmt: skip
    finally:
        done.set()
        killer.join()
    assert killed, "no worker was running a block while the job ran"
    assert final_name_seen == [False]  # the output appears under its name only at the end
    local = keel_json(
        "score", str(path), "--out", str(tmp_path / "local.parquet"), "--chunk-rows", "1000",
        cwd=shared_project,
    )  # fmt: skip
    same_summary(local, ray)
    assert_frame_equal(pl.read_parquet(local["out"]), pl.read_parquet(out))
    assert_frame_equal(pl.read_parquet(local["rejects"]), pl.read_parquet(ray["rejects"]))
    assert not list(tmp_path.glob("*.partial"))


def test_ray_tune_trains_each_trial_as_a_task_and_records_it(
    cluster: RayCluster, project: Path
) -> None:
    config = yaml.safe_load((project / "keel.yaml").read_text())
    config["model"]["params"]["n_estimators"] = 20
    config["model"]["search"] = {
        "trials": 10,
        "space": {"num_leaves": [7, 15], "learning_rate": [0.05, 0.2, "log"]},
    }
    (project / "keel.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
    with tasks_seen(cluster, "ray::_train_trial") as titles:  # trials train in the workers
        body = keel_json("tune", "--trials", "4", "--executor", "ray", cwd=project, cluster=cluster)
    assert titles, "no trial ran in a worker of the cluster"
    trials = body["trials"]
    ids = [t["run_id"] for t in trials]
    assert len(trials) == 4 and len(set(ids)) == 4
    assert body["best"] == max(trials, key=lambda t: t["roc_auc"])["run_id"]
    for trial in trials:
        shown = keel_json("runs", "show", trial["run_id"], cwd=project)
        assert shown["status"] == "succeeded"
        assert f"study:{body['study']}" in shown["tags"]
        assert shown["params"]["model"]["params"]["num_leaves"] == trial["params"]["num_leaves"]
        assert 7 <= trial["params"]["num_leaves"] <= 15
    best = keel_json("runs", "show", body["best"], cwd=project)
    assert "best" in best["tags"]


def test_ray_trains_each_seed_as_a_task_and_reports_their_spread(
    cluster: RayCluster, project: Path
) -> None:
    with tasks_seen(cluster, "ray::_train_trial") as titles:  # seeds train in the workers
        body = keel_json(
            "train", "--seeds", "3", "--param", "n_estimators=20", "--executor", "ray",
            cwd=project, cluster=cluster,
        )  # fmt: skip
    assert titles, "no seed trained in a worker of the cluster"
    assert body["failed"] == {} and len(body["runs"]) == 3
    seeds = [run["seed"] for run in body["runs"]]
    assert sorted(seeds) == body["seeds"] and len(set(seeds)) == 3
    for run in body["runs"]:
        shown = keel_json("runs", "show", run["run_id"], cwd=project)
        assert shown["status"] == "succeeded" and shown["seed"] == run["seed"]
        assert f"seeds:{body['group']}" in shown["tags"]
    [auc] = [s for s in body["spread"] if s["metric"] == "roc_auc"]
    assert auc["n"] == 3 and auc["min"] <= auc["mean"] <= auc["max"]


def test_an_address_where_no_cluster_answers_is_one_error_naming_it(
    shared_project: Path, tmp_path: Path
) -> None:
    [port] = free_ports(1)  # nothing listens there
    path = mixed_file(tmp_path, 1_000, seed=34)
    done = run_keel(
        "score", str(path), "--out", str(tmp_path / "out.parquet"), "--executor", "ray",
        "--ray-address", f"127.0.0.1:{port}", cwd=shared_project, env=CLIENT_ENV, timeout=120,
    )  # fmt: skip
    assert done.returncode == 7, done.stderr
    assert f"127.0.0.1:{port}" in done.stderr and "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]
