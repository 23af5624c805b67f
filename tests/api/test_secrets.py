"""Secrets never leak: a real flow with known secret values configured (an API key, a wrong
one, a PostgreSQL password in database and source URLs, S3 credentials in the environment and
in a store URL) runs ``keel status``, a failing ingest, ``keel serve`` with predictions,
outcomes, refusals and metrics, and the monitor; then every output, the server's log and every
file of the project folder are searched for each secret value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.api.conftest import PROJECT
from tests.api.live import run_keel, start_server

PG_PASSWORD = "PgPassw0rd-SECRET-7781"
S3_KEY_ID = "AKIAKEELSECRETKEY0042"
S3_SECRET = "S3-secret-access-key-Zq81"
WRONG_KEY = "keel_WRONGsecretValueThatMustNotBeLogged42"


@pytest.mark.slow
@pytest.mark.postgres
def test_no_secret_appears_in_any_output_log_or_file(
    project: Path, records: list[dict[str, Any]], postgres_url: str
) -> None:
    added = run_keel("users", "add", "admin", "--role", "admin", cwd=project)
    assert added.returncode == 0, added.stderr
    api_key = re.findall(r"keel_[A-Za-z0-9_\-]+", added.stdout)[-1]
    secrets = [api_key, WRONG_KEY, PG_PASSWORD, S3_KEY_ID, S3_SECRET]
    env = {
        "KEEL_API_KEY": api_key,
        "AWS_ACCESS_KEY_ID": S3_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": S3_SECRET,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with_password = re.sub(r"//([^:@/]+)(:[^@]*)?@", rf"//\1:{PG_PASSWORD}@", postgres_url)
    assert PG_PASSWORD in with_password  # the test server trusts; the password rides along
    unreachable = f"postgresql://keel:{PG_PASSWORD}@127.0.0.1:1/keel"
    s3_endpoint = "endpoint_url=http://127.0.0.1:1"
    outputs: dict[str, str] = {}

    def keel(name: str, *args: str, **more: str) -> None:
        done = run_keel(*args, cwd=project, env=env | more, timeout=120)
        outputs[name] = done.stdout + done.stderr

    keel("status", "status")
    keel("status-postgres", "status", KEEL_DATABASE_URL=with_password)
    keel("status-postgres-down", "status", KEEL_DATABASE_URL=unreachable)
    keel(
        "status-s3-in-url",
        "status",
        KEEL_STORE_URL=f"s3://{S3_KEY_ID}:{S3_SECRET}@bucket/p?{s3_endpoint}",
    )
    keel("status-s3-option", "status", KEEL_STORE_URL=f"s3://b/p?{s3_endpoint}&secret={S3_SECRET}")
    keel("status-s3-down", "status", KEEL_STORE_URL=f"s3://bucket/p?{s3_endpoint}")
    keel("ingest-sql", "ingest", "--sql", unreachable, "--query", "select 1")
    assert "***" in outputs["status-postgres"] and "error" in outputs["status-postgres-down"]

    server = start_server(project, env=env)
    try:
        with server.client(headers={"authorization": f"Bearer {api_key}"}) as client:
            answer = client.post("/v1/predict", json={"records": records[:3]})
            assert answer.status_code == 200
            outputs["predict"] = answer.text
            ids = [a["id"] for a in answer.json()["predictions"]]
            labelled = client.post("/v1/outcomes", json={"outcomes": [{"id": ids[0], "label": 1}]})
            outputs["outcomes"] = labelled.text
            refused = client.post(
                "/v1/predict",
                json={"records": records[:1]},
                headers={"authorization": f"Bearer {WRONG_KEY}"},
            )
            assert refused.status_code == 401
            outputs["wrong-key"] = refused.text + str(refused.headers)
            other = client.get("/metrics", headers={"x-api-key": WRONG_KEY})
            outputs["wrong-key-metrics"] = other.text
            metrics = client.get("/metrics")
            assert metrics.status_code == 200
            outputs["metrics"] = metrics.text
            outputs["release"] = client.get("/v1/release").text
            outputs["openapi"] = client.get("/openapi.json").text
            outputs["oip"] = client.get(f"/v2/models/{PROJECT}").text
    finally:
        server.stop()
    outputs["server-log"] = server.output()

    keel("monitor", "monitor", "run")
    keel("report", "monitor", "report", "--out", str(project / "report.html"))
    keel("status-after", "status")

    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{name} shows a secret:\n{text[:3000]}"
    for path in sorted(p for p in project.parent.rglob("*") if p.is_file()):
        data = path.read_bytes()
        for secret in secrets:
            assert secret.encode() not in data, f"{path} holds a secret"
