"""Model versions: the immutable, registered output of a training run."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from keel.errors import InvalidInput
from keel.registry.signature import Signature

_REF = re.compile(r"^(?:(?P<name>[a-z][a-z0-9_.-]{0,62})/)?v?(?P<number>[0-9]{1,9})$")


@dataclass(frozen=True)
class ModelVersion:
    """A registered model: what it takes, what it is made of, how it scored, where it came from.

    ``artifacts`` maps each stored file (model bundle manifest, card) to its sha256; the bundle's
    manifest names the pipeline, estimator and calibrator blobs by sha256 in turn.
    """

    project: str
    version: int
    run_id: str
    model_sha256: str
    kind: str
    data_version: int
    labels_version: int | None
    signature: Signature
    benchmarks: dict[str, Any]
    slices: dict[str, Any]
    artifacts: dict[str, str]
    created_at: datetime
    actor: str
    tags: tuple[str, ...] = field(default=())

    @property
    def label(self) -> str:
        return f"{self.project}/v{self.version}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.version,
            "model": self.label,
            "project": self.project,
            "run_id": self.run_id,
            "model_sha256": self.model_sha256,
            "kind": self.kind,
            "data_version": self.data_version,
            "labels_version": self.labels_version,
            "signature": self.signature.to_list(),
            "benchmarks": self.benchmarks,
            "slices": self.slices,
            "artifacts": self.artifacts,
            "created_at": self.created_at.isoformat(),
            "actor": self.actor,
        }


def parse_version_ref(text: str, project: str) -> int:
    """``4``, ``v4`` or ``<project>/v4`` -> 4; anything else is refused with the forms allowed."""
    found = _REF.fullmatch(text.strip())
    if found is None or (found["name"] is not None and found["name"] != project):
        raise InvalidInput(
            f"not a model version of '{project}': {text!r}",
            path="version",
            hint=f"write 4, v4 or {project}/v4; 'keel models list' shows the versions",
        )
    number = int(found["number"])
    if number < 1:
        raise InvalidInput(f"model versions start at 1; got {text!r}", path="version")
    return number
