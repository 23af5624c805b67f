"""Prometheus metrics of the prediction service, on a registry of its own.

Each worker process exposes its own numbers; Prometheus sums them across the targets it scrapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from keel.serving.service import Answer

LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "keel_requests", "HTTP requests by route and status.", ["route", "status"], registry=r
        )
        self.latency = Histogram(
            "keel_request_seconds",
            "Request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.predictions = Counter(
            "keel_predictions",
            "Predictions answered by model, route and decision.",
            ["model", "route", "decision"],
            registry=r,
        )
        self.fallbacks = Counter(
            "keel_fallbacks",
            "Model failures that sent a request down the fallback chain.",
            ["model", "reason"],
            registry=r,
        )
        self.ood = Counter(
            "keel_ood_records", "Answered records flagged out of distribution.", registry=r
        )
        self.unanswered_total = Counter(
            "keel_unanswered", "Requests no model and no deferral could answer.", registry=r
        )
        self.shadow_drops = Counter(
            "keel_shadow_dropped", "Shadow scorings skipped under backlog.", registry=r
        )
        self.inflight = Gauge("keel_inflight_requests", "Requests being served.", registry=r)
        self.rejected = Counter(
            "keel_overload_rejections", "Requests refused with 503 under overload.", registry=r
        )
        self.swaps = Gauge("keel_release_swaps", "Release swaps since start.", registry=r)
        self.refused = Gauge(
            "keel_release_refused", "1 while the newest release could not be loaded.", registry=r
        )
        # labelled children by label values: ``labels()`` validates and locks on every call
        self._requests: dict[tuple[str, int], tuple[Counter, Histogram]] = {}
        self._predictions: dict[tuple[str, str, str], Counter] = {}

    def request(self, route: str, status: int, seconds: float) -> None:
        """One HTTP request served (``route`` is a template, so the labels stay few)."""
        children = self._requests.get((route, status))
        if children is None:
            children = (self.requests.labels(route, str(status)), self.latency.labels(route))
            self._requests[route, status] = children
        children[0].inc()
        children[1].observe(seconds)

    def answered(self, answers: Sequence[Answer], routes: Sequence[str]) -> None:
        for answer, route in zip(answers, routes, strict=True):
            found = answer.prediction
            model = found.model if found else "none"
            decision = (found.decision if found else "defer") or "none"
            child = self._predictions.get((model, route, decision))
            if child is None:
                child = self.predictions.labels(model, route, decision)
                self._predictions[model, route, decision] = child
            child.inc()
            if found is not None and found.ood:
                self.ood.inc()

    def fell_back(self, model: str, reason: str) -> None:
        self.fallbacks.labels(model, reason).inc()

    def unanswered(self) -> None:
        self.unanswered_total.inc()

    def shadow_dropped(self, count: int) -> None:
        self.shadow_drops.inc(count)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
