"""Answer prediction requests: route, predict within a time budget, fall back, log, respond.

The answer to a request is sent only after its prediction records are durable in the log (group
commit: concurrent requests share one disk sync). A model that raises, returns nonsense or runs
past its budget is never a server error: the configured fallback chain answers (for a canary the
champion first; then the previous champion, a baseline model, or ``defer``: "no model decided
this"), and the response and the log say which and why. Shadows score the same records after the
response, off its path.

Models run off the event loop, in a thread pool, so that a hanging model costs its requests their
budget and nothing more. Requests to the same model that arrive while it is busy are scored
together in its next call (``Coalescer``): one thread hand-off and one model call for many
requests under load, and no wait at all for a lone request. The budget is each request's own,
counted from the moment it asks, queueing included.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from keel.decisions import DEFER, DecisionPolicy
from keel.errors import KeelError, StorageUnavailable
from keel.predictions import PredictionRecord, RecordLog
from keel.serving.checks import RecordChecker, Records
from keel.serving.follower import ReleaseFollower
from keel.serving.ids import new_id
from keel.serving.metrics import ServingMetrics
from keel.serving.predictor import ModelError, Prediction, Predictor
from keel.serving.routing import ServingSet

log = logging.getLogger("keel.serving")


class NoModelAnswered(StorageUnavailable):
    """Every model of the chain failed and the chain does not end in ``defer``: HTTP 503."""


@dataclass(frozen=True)
class Answer:
    """One record's answer as the client sees it."""

    prediction_id: str
    prediction: Prediction | None  # None for a deferred decision
    entity_id: str
    fallback: str | None

    def to_dict(self) -> dict[str, Any]:
        found = self.prediction
        return {
            "id": self.prediction_id,
            "entity_id": self.entity_id,
            "score": found.score if found else None,
            "decision": found.decision if found else DEFER,
            "model": found.model if found else None,
            "explanation": [list(c) for c in found.explanation]
            if found and found.explanation is not None
            else None,
            "ood": [str(f) for f in found.ood] if found else [],
            "fallback": self.fallback,
        }


@dataclass
class PredictionService:
    follower: ReleaseFollower
    checker: RecordChecker
    policy: DecisionPolicy
    log: RecordLog[PredictionRecord]
    executor: Executor
    shadow_executor: Executor
    metrics: ServingMetrics
    clock: Callable[[], datetime]
    budget_seconds: float | None = 0.25
    max_shadow_backlog: int = 1000
    policy_digest: str | None = None
    """Logged with each prediction: which decision policy decided it."""

    def __post_init__(self) -> None:
        self._shadow_backlog = 0
        self._shadow_lock = threading.Lock()
        self._coalescers: dict[Predictor, Coalescer] = {}
        self._coalesced_for: ServingSet | None = None

    def check(self, records: object) -> Records:
        """The records, if every one passes the contract; else ``InvalidRecords`` (422)."""
        return self.checker.check(records)

    async def predict(self, records: Records, *, request_id: str, explain: int = 0) -> list[Answer]:
        """Answers in request order, durable in the log before this returns."""
        started = time.perf_counter()
        serving = self.follower.current
        entity = self.checker.entity
        groups: dict[str, tuple[Predictor | None, list[int]]] = {}
        for i, record in enumerate(records):
            predictor, route = serving.route(str(record[entity]))
            groups.setdefault(route, (predictor, []))[1].append(i)
        answers: list[Answer | None] = [None] * len(records)
        routes: list[str] = [""] * len(records)
        for route, (predictor, rows) in groups.items():
            subset = [records[i] for i in rows]
            found = await self._answer(serving, predictor, route, subset, explain)
            for i, answer in zip(rows, found, strict=True):
                answers[i], routes[i] = answer, route
        done = [a for a in answers if a is not None]
        latency = (time.perf_counter() - started) * 1000
        now = self.clock()
        logged = [
            _record(
                request_id,
                now,
                answer=answer,
                inputs=records[i],
                latency_ms=latency,
                route=routes[i],
                policy=serving.policy_digest or self.policy_digest,
            )
            for i, answer in enumerate(done)
        ]
        await acknowledged(self.log.submit(logged))
        self.metrics.answered(done, routes)
        if serving.shadows:
            self._shadow(serving, records, request_id)
        return done

    async def _answer(
        self,
        serving: ServingSet,
        predictor: Predictor | None,
        route: str,
        records: Records,
        explain: int,
    ) -> list[Answer]:
        reasons: list[str] = []
        if route == "paused":
            reasons.append("the champion is paused")
        elif predictor is None:
            reasons.append(f"the {route} is not loaded")
        else:
            found = await self._try(predictor, records, explain, reasons)
            if found is not None:
                return _answers(found, None)
        steps = (serving.policy or self.policy).fallback
        for step, fallback in serving.fallbacks(steps, route):
            if step == DEFER:
                return _deferred(records, self.checker.entity, "; ".join(reasons) + " → defer")
            if fallback is None:
                reasons.append(f"no {step.replace('_', ' ')} is loaded")
                continue
            found = await self._try(fallback, records, explain, reasons)
            if found is not None:
                return _answers(found, "; ".join(reasons) + f" → {step.replace('_', ' ')}")
        self.metrics.unanswered()
        raise NoModelAnswered(
            "no model could answer: " + "; ".join(reasons),
            hint="add 'defer' to decisions.fallback to answer with a deferred decision instead",
        )

    async def _try(
        self, predictor: Predictor, records: Records, explain: int, reasons: list[str]
    ) -> list[Prediction] | None:
        """The predictor's answers, or None with the reason appended to ``reasons``."""
        coalescer = self._coalescers.get(predictor)
        if coalescer is None:
            coalescer = self._coalescer(predictor)
        try:
            async with asyncio.timeout(self.budget_seconds):
                return await coalescer.score(records, explain)
        except TimeoutError:
            budget = (self.budget_seconds or 0.0) * 1000
            reasons.append(f"{predictor.model} exceeded its {budget:g} ms budget")
            self.metrics.fell_back(predictor.model, "timeout")
        except ModelError as error:
            reasons.append(error.message)
            self.metrics.fell_back(predictor.model, "error")
        except Exception as error:  # a model must never turn into a 500
            reasons.append(f"{predictor.model} failed: {type(error).__name__}: {error}")
            self.metrics.fell_back(predictor.model, "error")
        return None

    def _coalescer(self, predictor: Predictor) -> Coalescer:
        """A new model's coalescer; those of models the current release no longer names go."""
        serving = self.follower.current
        if serving is not self._coalesced_for:
            self._coalesced_for = serving
            keep = {serving.champion, serving.canary, serving.previous, serving.baseline}
            self._coalescers = {p: c for p, c in self._coalescers.items() if p in keep}
        coalescer = self._coalescers[predictor] = Coalescer(predictor, self.executor)
        return coalescer

    def _shadow(self, serving: ServingSet, records: Records, request_id: str) -> None:
        """Score with every shadow after the response; dropped (and counted) under backlog."""
        with self._shadow_lock:
            if self._shadow_backlog >= self.max_shadow_backlog:
                self.metrics.shadow_dropped(len(serving.shadows))
                return
            self._shadow_backlog += 1
        future = self.shadow_executor.submit(self._score_shadows, serving, records, request_id)
        future.add_done_callback(self._shadow_done)

    def _shadow_done(self, _future: object) -> None:
        with self._shadow_lock:
            self._shadow_backlog -= 1

    def _score_shadows(self, serving: ServingSet, records: Records, request_id: str) -> None:
        for shadow in serving.shadows:
            started = time.perf_counter()
            try:
                found = shadow.predict_checked(records)
            except Exception as error:  # a failing shadow is logged, never seen by clients
                log.warning("shadow %s failed: %s", shadow.model, error)
                self.metrics.fell_back(shadow.model, "shadow_error")
                continue
            latency = (time.perf_counter() - started) * 1000
            now = self.clock()
            rows = [
                _record(
                    request_id,
                    now,
                    answer=answer,
                    inputs=record,
                    latency_ms=latency,
                    route="shadow",
                    policy=serving.policy_digest or self.policy_digest,
                )
                for answer, record in zip(_answers(found, None), records, strict=True)
            ]
            try:
                self.log.append(rows)
            except KeelError as error:
                log.error("could not log shadow predictions: %s", error.message)


Scored = list[Prediction] | BaseException
"""One request's predictions, or what its model raised for it."""


class Coalescer:
    """One model's calls: requests that arrive while it is busy go together in its next call.

    Lives on the event loop (no lock). A lone request is dispatched at once; under load each
    call takes everything queued, so the thread hand-off and the model's fixed cost per call are
    shared. A request that gave up (its budget ran out) is skipped, never scored for nobody.
    """

    def __init__(self, predictor: Predictor, executor: Executor) -> None:
        self.predictor = predictor
        self.executor = executor
        self.pending: list[tuple[Records, int, asyncio.Future[list[Prediction]]]] = []
        self.busy = False

    def score(self, records: Records, explain: int) -> asyncio.Future[list[Prediction]]:
        future: asyncio.Future[list[Prediction]] = asyncio.get_running_loop().create_future()
        self.pending.append((records, explain, future))
        if not self.busy:
            self._dispatch()
        elif len(self.pending) > 1000:  # a hung model: drop the requests that gave up
            self.pending = [entry for entry in self.pending if not entry[2].done()]
        return future

    def _dispatch(self) -> None:
        batch = [entry for entry in self.pending if not entry[2].done()]
        self.pending = []
        if not batch:
            return
        self.busy = True
        loop = asyncio.get_running_loop()
        work = [(records, explain) for records, explain, _ in batch]
        call = loop.run_in_executor(self.executor, score_together, self.predictor, work)
        call.add_done_callback(lambda done: self._settle(batch, done))

    def _settle(
        self,
        batch: list[tuple[Records, int, asyncio.Future[list[Prediction]]]],
        call: asyncio.Future[list[Scored]],
    ) -> None:
        self.busy = False
        error = call.exception()
        results: list[Scored] = [error] * len(batch) if error else call.result()
        for (_, _, future), result in zip(batch, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        if self.pending:
            self._dispatch()


def score_together(predictor: Predictor, work: Sequence[tuple[Records, int]]) -> list[Scored]:
    """Each request's predictions from as few model calls as there are ``explain`` levels; if a
    shared call raises, each of its requests is scored alone, so that one request's failure is
    never another's."""
    if len(work) == 1:
        records, explain = work[0]
        try:
            return [predictor.predict_checked(records, explain=explain)]
        except Exception as error:
            return [error]
    results: list[Scored | None] = [None] * len(work)
    for explain in sorted({k for _, k in work}):
        members = [i for i, (_, k) in enumerate(work) if k == explain]
        joined = [record for i in members for record in work[i][0]]
        try:
            found = predictor.predict_checked(joined, explain=explain)
        except Exception:
            for i in members:
                results[i] = score_together(predictor, [work[i]])[0]
            continue
        start = 0
        for i in members:
            size = len(work[i][0])
            results[i] = found[start : start + size]
            start += size
    return [result for result in results if result is not None]


def acknowledged(future: Future[None]) -> asyncio.Future[None]:
    """Await a log append without ever cancelling it.

    ``asyncio.wrap_future`` would cancel the log's future when a request is cancelled (its time
    limit, a client gone); the rows are written all the same, and the log's writer must not
    find its future cancelled. This waiter may be cancelled; the append goes on regardless.
    """
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[None] = loop.create_future()

    def settle(done: Future[None]) -> None:
        if waiter.cancelled():
            return
        error = done.exception()
        if error is None:
            waiter.set_result(None)
        else:
            waiter.set_exception(error)

    future.add_done_callback(lambda done: loop.call_soon_threadsafe(settle, done))
    return waiter


def _answers(found: Sequence[Prediction], fallback: str | None) -> list[Answer]:
    return [Answer(new_id(), p, p.entity_id, fallback) for p in found]


def _deferred(records: Records, entity: str, reason: str) -> list[Answer]:
    return [Answer(new_id(), None, str(r[entity]), reason) for r in records]


def _record(
    request_id: str,
    at: datetime,
    *,
    answer: Answer,
    inputs: Mapping[str, object],
    latency_ms: float,
    route: str,
    policy: str | None,
) -> PredictionRecord:
    found = answer.prediction
    return PredictionRecord(
        request_id=request_id,
        prediction_id=answer.prediction_id,
        time=at,
        model=found.model if found else None,
        entity_id=answer.entity_id,
        inputs=inputs,
        score=found.score if found else None,
        decision=found.decision if found else DEFER,
        explanation=found.explanation if found else None,
        ood=[str(f) for f in found.ood] if found else (),
        fallback=answer.fallback,
        latency_ms=latency_ms,
        route=route,
        policy=policy,
    )
