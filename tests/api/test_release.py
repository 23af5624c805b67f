"""Following the release: hot swap under load, canary by entity hash, shadows, LISTEN/NOTIFY."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from keel.serving.routing import BUCKETS, bucket
from tests.api.conftest import (
    BASELINE,
    CHALLENGER,
    OPERATOR,
    PROJECT,
    gate,
    logged,
    prepare,
    promote,
    release_model,
)
from tests.api.live import Load, Server, wait_until

Serve = Callable[..., Server]
V1, V2 = f"{PROJECT}/v1", f"{PROJECT}/v2"


def test_a_swap_under_continuous_load_fails_no_request(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    server = serve("--poll", "0.1")
    load = Load(server.url, records, threads=4).start()
    try:
        load.wait_for(100)
        release_model(project, lambda keel: promote(keel, CHALLENGER))
        wait_until(lambda: any(a["predictions"][0]["model"] == V2 for a in load.answered[-5:]))
        swapped = len(load.answered)
        load.wait_for(swapped + 100)
    finally:
        load.stop()
    assert load.failures == [] and set(load.statuses) == {200}, (load.statuses, load.failures)
    models = [a["predictions"][0]["model"] for a in load.answered]
    first_v2 = models.index(V2)
    assert set(models[:first_v2]) == {V1}
    after = models[swapped + load.threads :]  # requests in flight at the swap may end on v1
    assert after == [V2] * len(after), (
        swapped,
        first_v2,
        [(i, m) for i, m in enumerate(models) if m != V2][-10:],
    )
    assert all(a["predictions"][0]["fallback"] is None for a in load.answered)
    with server.client() as client:
        shown = client.get("/v1/release").json()
    assert (shown["champion"], shown["release"]) == (V2, "rel-0002")


def test_a_canary_serves_its_share_of_entities_sticky_by_hash(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    release_model(project, lambda keel: gate(keel, CHALLENGER))
    release_model(project, lambda keel: keel.registry().canary(CHALLENGER, 30.0, OPERATOR))
    server = serve()
    batch = records[:400]
    with server.client() as client:
        first = client.post("/v1/predict", json={"records": batch}).json()["predictions"]
        again = [
            client.post("/v1/predict", json={"records": [r]}).json()["predictions"][0]
            for r in reversed(batch[:100])
        ]
        shown = client.get("/v1/release").json()
    assert (shown["champion"], shown["canary"], shown["canary_share"]) == (V1, V2, 30.0)
    expected = {
        r["application_id"]: V2 if bucket(r["application_id"]) < 3000 else V1 for r in batch
    }
    assert {a["entity_id"]: a["model"] for a in first} == expected
    assert {a["entity_id"]: a["model"] for a in again} == {
        k: expected[k] for k in (r["application_id"] for r in batch[:100])
    }
    share = Counter(expected.values())[V2] / len(batch)
    assert 0.2 < share < 0.4, share
    routes = {r["prediction_id"]: r["route"] for r in logged(project)}
    for answer in first:
        assert routes[answer["id"]] == ("canary" if answer["model"] == V2 else "champion")
    assert BUCKETS == 10_000


def test_shadows_are_logged_and_never_returned(
    project: Path, serve: Serve, records: list[dict[str, Any]]
) -> None:
    release_model(project, lambda keel: keel.registry().shadow(CHALLENGER, OPERATOR))
    server = serve()
    with server.client() as client:
        response = client.post("/v1/predict", json={"records": records[:5]})
        shown = client.get("/v1/release").json()
    assert shown["shadow"] == [V2]
    body = response.json()
    answers = body["predictions"]
    assert {a["model"] for a in answers} == {V1} and V2 not in response.text

    def shadow_rows() -> list[dict[str, Any]]:
        return [r for r in logged(project) if r["route"] == "shadow"]

    wait_until(lambda: len(shadow_rows()) == 5)
    rows = shadow_rows()
    assert {r["model"] for r in rows} == {V2} and {r["request_id"] for r in rows} == {
        body["request_id"]
    }
    assert [r["entity_id"] for r in rows] == [a["entity_id"] for a in answers]
    assert not {r["prediction_id"] for r in rows} & {a["id"] for a in answers}
    served = [r for r in logged(project) if r["request_id"] == body["request_id"]]
    assert Counter(r["route"] for r in served) == {"champion": 5, "shadow": 5}


@pytest.mark.postgres
def test_on_postgresql_a_release_notification_swaps_within_a_second(
    tmp_path: Path, postgres_url: str, serve: Serve, records: list[dict[str, Any]]
) -> None:
    folder = tmp_path / "pg"
    prepare(folder, postgres_url, broken=False)
    server = serve("--poll", "30", folder=folder, env={"KEEL_DATABASE_URL": postgres_url})
    with server.client() as client:

        def model() -> str:
            answer = client.post("/v1/predict", json={"records": records[:1]}).json()
            return str(answer["predictions"][0]["model"])

        assert model() == V1
        release_model(folder, lambda keel: gate(keel, CHALLENGER), postgres_url)
        release_model(
            folder,
            lambda keel: keel.registry().promote(CHALLENGER, OPERATOR),
            postgres_url,
        )
        promoted = time.monotonic()
        wait_until(lambda: model() == V2, timeout=10.0, every=0.01)
        took = time.monotonic() - promoted
        assert took < 1.0, f"swapped {took:.2f} s after the promotion (polling every 30 s)"
        dropped = terminate_listener(postgres_url, server.process.pid)
        release_model(folder, lambda keel: promote(keel, BASELINE), postgres_url)
        promoted = time.monotonic()
        wait_until(lambda: model() == f"{PROJECT}/v{BASELINE}", timeout=10.0, every=0.01)
        took = time.monotonic() - promoted
    assert dropped == 1
    assert took < 2.0, f"swapped {took:.2f} s after the promotion, the listener reconnecting"


def terminate_listener(url: str, pid: int) -> int:
    """End the server's LISTEN connection from the database side, as a failover would."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as conn:
            found = conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE application_name = :name"
                ),
                {"name": f"keel-release-{pid}"},
            )
            return len(found.all())
    finally:
        engine.dispose()
