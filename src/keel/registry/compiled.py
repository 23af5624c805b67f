"""Which back end serves a model version: compiled, if it proved equivalent at registration.

Registration compiles a LightGBM model (when the ``compiled`` extra is installed) and scores the
frozen benchmark rows with both back ends. The verdict is stored as a JSON artifact of the version
(``artifacts['inference']``); serving reads it and compiles (from the local cache) only a version
that passed. Any other version, and every version where the extra is missing, serves natively.
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import polars as pl

from keel.models import compiled
from keel.models.bundle import ModelBundle
from keel.models.equivalence import Decide, Equivalence
from keel.models.estimator import F64
from keel.models.ports import ArtifactStore

ARTIFACT = "inference"
SWITCH_ENV = "KEEL_COMPILED"
"""Set to ``off`` to register and serve natively even where the extra is installed."""


def enabled() -> bool:
    """The extra is installed and not switched off."""
    return os.environ.get(SWITCH_ENV, "on").lower() != "off" and compiled.available()


def verify(
    bundle: ModelBundle,
    sha256: str,
    frame: pl.DataFrame | None,
    decide: Decide | None,
    *,
    cache_dir: Path | None = None,
) -> Equivalence | None:
    """The equivalence verdict for a new version; None when no compiled back end applies."""
    if not enabled() or bundle.estimator.kind != "lightgbm":
        return None
    if frame is None or frame.is_empty():
        return Equivalence.native("no frozen benchmark rows to check a compiled model on")
    try:
        fast = compiled.compiled_bundle(bundle, sha256, cache_dir=cache_dir)
        if fast is None:
            return None
        native_scores, compiled_scores = bundle.score(frame), fast.score(frame)
    except Exception as exc:
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0]
        return Equivalence.native(f"compiling failed: {reason}")
    return compiled.check_equivalence(native_scores, compiled_scores, decide or _undecided)


def _undecided(scores: F64) -> list[str | None]:
    """No decision policy: only the scores are compared."""
    return [None] * len(scores)


def store_verdict(artifacts: ArtifactStore, verdict: Equivalence) -> str:
    return artifacts.put(orjson.dumps(verdict.to_dict()))


def read_verdict(artifacts: ArtifactStore, model_artifacts: dict[str, str]) -> Equivalence | None:
    """The stored verdict of a version (None for versions registered without one)."""
    digest = model_artifacts.get(ARTIFACT)
    if digest is None:
        return None
    return Equivalence.from_dict(orjson.loads(artifacts.get(digest)))


def serving_bundle(
    bundle: ModelBundle,
    sha256: str,
    verdict: Equivalence | None,
    *,
    cache_dir: Path | None = None,
) -> tuple[ModelBundle, str]:
    """The bundle to serve and the back end's name: compiled only after a passed check."""
    if verdict is None or not verdict.passed or not enabled():
        return bundle, "native"
    try:
        fast = compiled.compiled_bundle(bundle, sha256, cache_dir=cache_dir)
    except Exception:
        return bundle, "native"
    return (bundle, "native") if fast is None else (fast, verdict.backend)
