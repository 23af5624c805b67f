"""Composition of the prediction service: a project opened, its release followed, its logs open.

``from_environment`` is the factory uvicorn calls in every worker process (``keel serve`` puts
the project folder and the options in the environment), so each worker builds its own service.
"""

from __future__ import annotations

import gc
import json
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from keel.config import Settings, load_project
from keel.decisions import DecisionPolicy
from keel.errors import KeelError
from keel.identity.users import User
from keel.registry.releases import Release, ReleaseState
from keel.serving.access import Access
from keel.serving.app import ASGIApp, ServeLimits, Serving, create_app
from keel.serving.checks import RecordChecker
from keel.serving.contract_schema import openapi_records_schema
from keel.serving.follower import ReleaseFollower
from keel.serving.metrics import ServingMetrics
from keel.serving.outcomes import OutcomeWriter
from keel.serving.predictor import Predictor
from keel.serving.routing import Wanted
from keel.serving.service import PredictionService
from keel.store.sql.notify import ReleaseListener
from keel.store.tables.outcome_log import OutcomeLog
from keel.store.tables.prediction_log import PredictionLog
from keel.store.tables.segment_log import SegmentLog
from keel.types import utcnow
from keel.wiring import Keel, open_keel

log = logging.getLogger("keel.serving")

OPTIONS_VARIABLE = "KEEL_SERVE_OPTIONS"


@dataclass(frozen=True)
class ServeOptions:
    limits: ServeLimits = field(default_factory=ServeLimits)
    budget_ms: float = 250.0
    poll_seconds: float = 1.0
    durability: Literal["fsync", "write"] = "fsync"
    model_threads: int = 4

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ServeOptions:
        body = json.loads(text)
        return cls(limits=ServeLimits(**body.pop("limits", {})), **body)


def prediction_log(keel: Keel, durability: Literal["fsync", "write"] = "fsync") -> PredictionLog:
    return PredictionLog(keel.settings.state_dir / "predictions", durability=durability)


def outcome_log(keel: Keel, durability: Literal["fsync", "write"] = "fsync") -> OutcomeLog:
    return OutcomeLog(keel.settings.state_dir / "outcomes", durability=durability)


def build_serving(keel: Keel, options: ServeOptions) -> Serving:
    """Load the current release and open the logs; the returned ``close`` undoes all of it."""
    project = keel.project
    schema = keel.data_schema()
    checker = RecordChecker(schema)
    policy = DecisionPolicy.parse(project.decisions.model_dump())
    registry = keel.registry()

    def load(version: int) -> Predictor:
        bundle = registry.bundle(version)  # every blob verified against its sha256
        return Predictor(bundle, schema=schema, policy=policy, model=f"{project.name}/v{version}")

    def head() -> Release | None:
        with keel.reader() as unit:
            return unit.releases.head(project.name)

    def plan(release: Release | None) -> Wanted:
        state = release.state if release is not None else ReleaseState()
        return Wanted(
            release=release.id if release is not None else None,
            champion=state.champion,
            canary=state.canary,
            canary_share=state.canary_share,
            shadows=state.shadow,
            previous=state.previous_champion,
            baseline=registry.policy.baseline,
        )

    listener = ReleaseListener(keel.db.url) if keel.db.dialect == "postgresql" else None
    follower = ReleaseFollower(
        head,
        plan,
        load,
        poll_seconds=options.poll_seconds,
        wait=listener.wait if listener is not None else None,
    )
    follower.start()
    predictions = prediction_log(keel, options.durability)
    outcomes = outcome_log(keel, options.durability)
    predictions.start()  # make the first segment now, not inside the first request
    executor = ThreadPoolExecutor(options.model_threads, thread_name_prefix="keel-model")
    shadows = ThreadPoolExecutor(1, thread_name_prefix="keel-shadow")
    metrics = ServingMetrics()
    service = PredictionService(
        follower=follower,
        checker=checker,
        policy=policy,
        log=predictions,
        executor=executor,
        shadow_executor=shadows,
        metrics=metrics,
        clock=utcnow,
        budget_seconds=options.budget_ms / 1000 if options.budget_ms else None,
    )

    def user(key_hash: str) -> User | None:
        with keel.reader() as unit:
            return unit.users.by_key_hash(key_hash)

    def users() -> int:
        with keel.reader() as unit:
            return unit.users.count()

    def close() -> None:
        if listener is not None:
            listener.stop()  # ends the follower's wait for a notification
        follower.stop()
        shadows.shutdown(wait=True)  # shadow answers already computed still reach the log
        executor.shutdown(wait=False, cancel_futures=True)
        predictions.close()
        outcomes.close()
        _seal(predictions, outcomes)
        if listener is not None:
            listener.close()
        keel.close()

    target = project.target
    return Serving(
        project=project.name,
        service=service,
        outcomes=OutcomeWriter(outcomes, target.kind, target.positive, utcnow),
        follower=follower,
        access=Access(lookup=user, count=users),
        metrics=metrics,
        limits=options.limits,
        records_schema=openapi_records_schema(checker),
        close=close,
    )


def _seal(*logs: SegmentLog[Any]) -> None:
    """Turn the segments no process writes any more (this one's, now closed) into Parquet
    parts; a failure leaves them as segments, which readers read all the same."""
    for found in logs:
        try:
            found.seal()
        except KeelError as error:
            log.warning("could not seal %s: %s", found.root, error.message)


def from_environment() -> ASGIApp:
    """The app for one uvicorn worker: the project from ``KEEL_PROJECT``, options as JSON."""
    folder = Path(os.environ["KEEL_PROJECT"])
    options = ServeOptions.from_json(os.environ.get(OPTIONS_VARIABLE, "{}") or "{}")
    project = load_project(folder / "keel.yaml")
    keel = open_keel(Settings.resolve(folder, project), project=project)
    try:
        app = create_app(build_serving(keel, options))
    except BaseException:
        keel.close()
        raise
    gc.collect()
    gc.freeze()  # see follower._refreeze: full collections never rescan the loaded models
    return app
