"""The serving plane: the prediction service assembled, started and run, batch scoring, and
the export of the prediction log.

``keel serve`` checks the caller (``serve``) and starts uvicorn, which calls ``from_environment``
in every worker process: each worker opens the project itself and assembles its own service
(``build_serving``): the current release loaded and followed (PostgreSQL also wakes it with a
notification), the prediction and outcome logs open, the API keys looked up in the database.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Collection, Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from keel.app.result import Result
from keel.app.session import open_project
from keel.app.use_case import query, use_case
from keel.data.ingest import iter_version
from keel.data.refs import parse_version
from keel.decisions import DecisionPolicy
from keel.errors import Conflict, InvalidInput, KeelError
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.identity.users import User
from keel.registry.releases import Release, ReleaseState
from keel.registry.versions import parse_version_ref
from keel.serving.access import Access
from keel.serving.app import Serving, create_app
from keel.serving.checks import RecordChecker
from keel.serving.contract_schema import openapi_records_schema
from keel.serving.follower import ReleaseFollower
from keel.serving.guard import ASGIApp
from keel.serving.metrics import ServingMetrics
from keel.serving.outcomes import Matcher, OutcomeWriter
from keel.serving.predictor import Predictor
from keel.serving.readiness import Readiness
from keel.serving.routing import Wanted
from keel.serving.service import PredictionService
from keel.serving.settings import ServeSettings
from keel.store.sources import open_source
from keel.store.sql.notify import ReleaseListener
from keel.store.tables.outcome_log import matched
from keel.store.tables.segment_log import SegmentLog
from keel.types import utcnow
from keel.wiring import Keel

if TYPE_CHECKING:  # the model stack loads only when a command scores
    import polars as pl

    from keel.registry.service import Registry
    from keel.serving.batch import BatchScorer, ScoreSummary

log = logging.getLogger("keel.serving")

WORKER_FACTORY = "keel.app.serving:from_environment"
"""What uvicorn imports in every worker process."""

Progress = Callable[[int], None]
ProgressBar = Callable[[int | None], AbstractContextManager[Progress]]
"""Given the rows to expect (None: unknown), a context that yields the progress updater."""


# ---------------------------------------------------------------- the prediction service


@dataclass(frozen=True)
class Service(Result):
    """A prediction service the caller may start: ``run`` blocks until it is stopped."""

    project: str
    directory: Path
    settings: ServeSettings

    @property
    def url(self) -> str:
        return f"http://{self.settings.host}:{self.settings.port}"

    def run(self) -> None:
        """Start uvicorn's workers, each assembling its service from the environment."""
        import uvicorn  # noqa: PLC0415 - the web stack loads only when a service runs

        os.environ["KEEL_PROJECT"] = str(self.directory)
        os.environ.update(self.settings.to_environ())
        uvicorn.run(
            WORKER_FACTORY,
            factory=True,
            host=self.settings.host,
            port=self.settings.port,
            workers=self.settings.workers,
            loop="uvloop",
            http="httptools",
            access_log=False,
            log_level="warning",
            timeout_graceful_shutdown=30,
        )


@use_case(Role.OPERATOR, action="serving", writes=True)
def serve(keel: Keel, actor: Actor, settings: ServeSettings) -> Service:
    """Check that the caller may serve this project; the returned service runs when asked."""
    return Service(keel.project.name, keel.settings.project_dir, settings)


@query(action="starting a prediction worker")
def from_environment() -> ASGIApp:
    """The app for one uvicorn worker: the project from ``KEEL_PROJECT``, the settings from
    the ``KEEL_SERVE_*`` variables ``Service.run`` set. The role is checked by
    ``build_serving``, for the same caller (the environment's key) as in ``serve``."""
    keel = open_project(Path(os.environ["KEEL_PROJECT"]))
    try:
        app = create_app(build_serving(keel, ServeSettings.from_environ(os.environ)))
    except BaseException:
        keel.close()
        raise
    gc.collect()
    gc.freeze()  # see follower._refreeze: full collections never rescan the loaded models
    return app


@use_case(Role.OPERATOR, action="serving", writes=True)
def build_serving(keel: Keel, actor: Actor, settings: ServeSettings) -> Serving:
    """Load the current release and open the logs; the returned ``close`` undoes all of it."""
    project = keel.project
    checker = RecordChecker(keel.data_schema())
    policy = project.decisions.policy()  # keel.yaml's; a released one comes with its release
    listener = ReleaseListener(keel.db.url) if keel.db.dialect == "postgresql" else None
    follower = _follower(keel, policy, settings, listener)
    follower.start()
    predictions = keel.prediction_log(
        settings.durability, segment_bytes=settings.log_segment_mb << 20
    )
    outcomes = keel.outcome_log(settings.durability)
    predictions.start()  # make the first segment now, not inside the first request
    for found in (predictions, outcomes):
        if found.parts is None:  # an object store's are sealed by _ship, as they roll over
            found.seal_in_background()
    stop_shipping = _ship(settings.ship_seconds, predictions, outcomes)
    executor = ThreadPoolExecutor(settings.model_threads, thread_name_prefix="keel-model")
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
        budget_seconds=settings.budget_seconds,
        policy_digest=project.decisions.digest(),
    )

    def close() -> None:
        until = time.monotonic() + DRAIN_SEAL_SECONDS
        if listener is not None:
            listener.stop()  # ends the follower's wait for a notification
        follower.stop()
        stop_shipping()
        shadows.shutdown(wait=True)  # shadow answers already computed still reach the log
        executor.shutdown(wait=False, cancel_futures=True)
        predictions.close()
        outcomes.close()
        _seal(predictions, outcomes, until=until)
        if listener is not None:
            listener.close()
        keel.close()

    target = project.target
    return Serving(
        project=project.name,
        service=service,
        outcomes=OutcomeWriter(
            outcomes, target.kind, target.positive, utcnow, _matcher(predictions)
        ),
        follower=follower,
        access=_access(keel),
        metrics=metrics,
        settings=settings,
        records_schema=openapi_records_schema(checker),
        readiness=Readiness(follower, lambda: predictions.failure, predictions.recover),
        close=close,
    )


def _matcher(predictions: SegmentLog[Any]) -> Matcher:
    """Which prediction and entity ids the prediction log holds (parts and live segments)."""

    def found(ids: Collection[str], entities: Collection[str]) -> tuple[set[str], set[str]]:
        return matched(predictions.scan(), ids, entities)

    return found


def _follower(
    keel: Keel,
    policy: DecisionPolicy,
    settings: ServeSettings,
    listener: ReleaseListener | None,
) -> ReleaseFollower:
    """Follows the head of the release history, loading each model it names (verified)."""
    project, schema, registry = keel.project, keel.data_schema(), keel.registry()

    def load(version: int) -> Predictor:
        bundle = registry.serving_bundle(version)  # every blob verified against its sha256
        return Predictor(bundle, schema=schema, policy=policy, model=f"{project.name}/v{version}")

    def head() -> Release | None:
        with keel.reader() as unit:
            return unit.releases.head(project.name)

    def deciding(version: int | None) -> tuple[DecisionPolicy, str]:
        """The policy a release names, and its digest (keel.yaml's for None)."""
        if version is None:
            return policy, project.decisions.digest()
        with keel.reader() as unit:
            deciding = unit.policies.get(project.name, version).deciding
        spec, released = keel.released_policy(version, deciding)
        return released, spec.digest()

    def plan(release: Release | None) -> Wanted:
        state = release.state if release is not None else ReleaseState()
        decide, digest = deciding(state.policy)
        return Wanted(
            release=release.id if release is not None else None,
            champion=state.champion,
            canary=state.canary,
            canary_share=state.canary_share,
            shadows=state.shadow,
            previous=state.previous_champion,
            baseline=registry.policy.baseline,
            policy=decide,
            policy_digest=digest,
            paused=state.paused,
        )

    return ReleaseFollower(
        head,
        plan,
        load,
        poll_seconds=settings.poll_seconds,
        wait=listener.wait if listener is not None else None,
    )


def _access(keel: Keel) -> Access:
    """API keys checked against the project's users (cached; see ``keel.serving.access``)."""

    def user(key_hash: str) -> User | None:
        with keel.reader() as unit:
            return unit.users.by_key_hash(key_hash)

    def users() -> int:
        with keel.reader() as unit:
            return unit.users.count()

    access = Access(lookup=user, count=users)
    access.prime()  # the first request never waits for the database
    return access


def _ship(every: float, *logs: SegmentLog[Any]) -> Callable[[], None]:
    """On an object store, roll each log's segment over every ``every`` seconds and seal the
    closed ones into the store, so that readers elsewhere (export, monitoring) see this
    replica's answers while it runs; returns what stops it. Local logs need none of this."""
    shipped = [found for found in logs if found.parts is not None]
    if not shipped:
        return lambda: None
    for found in shipped:
        found.segment_seconds = every
    stopped = threading.Event()

    def run() -> None:
        while not stopped.wait(every):
            try:
                _seal(*shipped)
            except Exception:  # the next round tries again; the segments are still there
                log.exception("could not ship the log to the store")

    thread = threading.Thread(target=run, name="keel-log-ship", daemon=True)
    thread.start()

    def stop() -> None:
        stopped.set()
        thread.join()

    return stop


DRAIN_SEAL_SECONDS = 3.0
"""How long a stopping worker seals, from the start of its ``close``: what is left stays as
segments (readers read them; the next worker to start seals them in the background), so that
a SIGTERM drain ends within an orchestrator's grace period at any log size."""


def _seal(*logs: SegmentLog[Any], until: float | None = None) -> None:
    """Turn the segments no process writes any more (this one's, now closed) into Parquet
    parts, until ``until`` (a monotonic deadline) if given; a failure or the deadline leaves
    them as segments, which readers read all the same."""
    for found in logs:
        try:
            found.seal(until=until)
        except KeelError as error:
            log.warning("could not seal %s: %s", found.root, error.message)


# ---------------------------------------------------------------- batch scoring

EXECUTORS = ("local", "ray")
"""Where batch work runs: in this process, or as tasks on a Ray cluster (keel.compute)."""


@dataclass(frozen=True)
class ScoreRequest:
    """What to score (a ``file`` or a dataset version ``data``, one of them), with which
    model (None: the champion), and where the scored rows and the rejects go."""

    out: Path
    file: Path | None = None
    data: str | None = None
    model: str | None = None
    rejects: Path | None = None
    chunk_rows: int = 200_000
    executor: str = "local"
    ray_address: str | None = None

    def __post_init__(self) -> None:
        if (self.file is None) == (self.data is None):
            raise InvalidInput("give a FILE or --data VERSION (one of them)", path="file")
        if self.executor not in EXECUTORS:
            raise InvalidInput(
                f"unknown executor {self.executor!r}",
                path="executor",
                hint=f"one of: {', '.join(EXECUTORS)}",
            )

    @property
    def rejects_file(self) -> Path:
        """Where failing rows go: ``rejects``, else next to ``out`` as ``OUT.rejected.parquet``."""
        return self.rejects or self.out.with_name(self.out.stem + ".rejected.parquet")


@dataclass(frozen=True)
class Scored(Result):
    """The summary of a scoring run; its JSON is the summary's, with the model and the files."""

    summary: ScoreSummary
    model: str
    out: Path
    rejects: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.summary.to_dict(),
            "model": self.model,
            "out": str(self.out),
            "rejects": str(self.rejects) if self.summary.rejected else None,
        }


@use_case(Role.VIEWER, action="scoring")
def score(
    keel: Keel, actor: Actor, request: ScoreRequest, progress: ProgressBar | None = None
) -> Scored:
    """Score a file or a dataset version with the champion (or the model asked for)."""
    scorer = _scorer(keel, request.model)
    rejects = request.rejects_file
    if request.data is not None:
        with keel.reader() as unit:
            dataset = unit.datasets.get(keel.dataset, parse_version(request.data))
        chunks, total, checked, from_text = (
            iter_version(keel.rows, dataset),
            dataset.rows,
            True,
            False,
        )
    else:
        assert request.file is not None  # one of the two, checked by ScoreRequest
        source = open_source(request.file)
        chunks, total, checked = source.chunks(request.chunk_rows), None, False
        from_text = source.from_text
    with (progress or _no_progress)(total) as advance:
        if request.executor == "ray":
            summary = _score_on_ray(
                scorer, chunks, request, checked=checked, from_text=from_text, progress=advance
            )
        else:
            summary = scorer.run(
                chunks,
                out=request.out,
                rejects=rejects,
                checked=checked,
                from_text=from_text,
                progress=advance,
            )
    return Scored(summary=summary, model=scorer.model, out=request.out, rejects=rejects)


def _score_on_ray(
    scorer: BatchScorer,
    chunks: Iterable[pl.DataFrame],
    request: ScoreRequest,
    *,
    checked: bool,
    from_text: bool,
    progress: Progress,
) -> ScoreSummary:
    """The same chunks scored as tasks on a Ray cluster (Ray loads only here)."""
    from keel.compute.ray_cluster import ray_cluster  # noqa: PLC0415 - Ray is optional
    from keel.compute.ray_scoring import score_on_ray  # noqa: PLC0415

    with ray_cluster(request.ray_address) as ray:
        return score_on_ray(
            ray,
            scorer,
            chunks,
            out=request.out,
            rejects=request.rejects_file,
            checked=checked,
            from_text=from_text,
            progress=progress,
        )


def _scorer(keel: Keel, model: str | None) -> BatchScorer:
    from keel.serving.batch import BatchScorer  # noqa: PLC0415 - the model stack is heavy

    registry = keel.registry()
    version = parse_version_ref(model, keel.project.name) if model else _champion(registry)
    return BatchScorer(
        bundle=registry.serving_bundle(version),
        model=f"{keel.project.name}/v{version}",
        schema=keel.data_schema(),
        policy=keel.decision_policy(),
    )


def _champion(registry: Registry) -> int:
    head, _ = registry.status()
    if head is None or head.state.champion is None:
        raise Conflict("no champion is released", hint="pass --model VERSION, or promote one first")
    return int(head.state.champion)


def _no_progress(_total: int | None) -> AbstractContextManager[Progress]:
    return nullcontext(lambda _done: None)


# ---------------------------------------------------------------- the prediction log


@dataclass(frozen=True)
class Exported(Result):
    """How many logged predictions were written, and where."""

    rows: int
    out: Path


@use_case(Role.VIEWER, action="exporting predictions")
def export_predictions(keel: Keel, actor: Actor, out: Path) -> Exported:
    """Every logged prediction to one Parquet file, one row each; segments no server writes
    any more become Parquet parts first."""
    predictions = keel.prediction_log()
    try:
        predictions.seal()
        rows = predictions.export(out)
    finally:
        predictions.close()
    return Exported(rows=rows, out=out)
