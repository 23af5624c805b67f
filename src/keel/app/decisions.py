"""The decisions plane: tune thresholds on the champion's frozen benchmark set, and replay logged
predictions under a candidate policy (a what-if before a change is approved).

Both price decisions with ``decisions.costs`` (the candidate file's own costs first, for
replay). Neither changes the project: tuning writes its page and, when asked, a policy file that
replay reads and that can be copied into keel.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import yaml

from keel.app.result import Result
from keel.app.use_case import use_case
from keel.config import load_yaml
from keel.decisions.costs import CostPolicy
from keel.decisions.kpis import ChunkKpis, chunk_kpis
from keel.decisions.policy import DecisionPolicy
from keel.decisions.replay import Replay, replay
from keel.decisions.review import ItemState
from keel.decisions.tuning import Tuned, tune
from keel.errors import ConfigError, Conflict, InvalidInput
from keel.identity.actor import Actor
from keel.identity.roles import Role
from keel.types import utcnow
from keel.wiring import Keel

F64 = np.ndarray


@dataclass(frozen=True)
class TuneReport(Result):
    """The tuned thresholds and where the page and the policy file were written."""

    benchmark: str
    model: str
    tuned: Tuned
    page: Path | None
    policy_file: Path | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "model": self.model,
            **self.tuned.to_dict(),
            "page": str(self.page) if self.page else None,
            "policy_file": str(self.policy_file) if self.policy_file else None,
        }


@use_case(Role.VIEWER, action="tuning decision thresholds")
def tune_thresholds(
    keel: Keel,
    actor: Actor,
    *,
    max_middle_share: float = 1.0,
    min_low_share: float = 0.0,
    confidence: float = 0.95,
    page: Path | None = None,
    policy_file: Path | None = None,
) -> TuneReport:
    """Thresholds of least realized cost on the champion's frozen benchmark set, under the
    constraints; the page (trade-off curve) and the policy file when paths are given."""
    from keel.reporting.decisions import render_tuning  # noqa: PLC0415

    costs = _costs(keel.decision_policy(), source="keel.yaml")
    benchmark, model, frame, scores, positive = _benchmark(keel)
    amounts = _amounts(frame, costs)
    tuned = tune(
        costs,
        scores,
        positive,
        amounts,
        max_middle_share=max_middle_share,
        min_low_share=min_low_share,
        confidence=confidence,
    )
    if page is not None:
        page.write_text(render_tuning(keel.project.name, benchmark, tuned), encoding="utf-8")
    if policy_file is not None:
        policy_file.write_text(_policy_yaml(keel, tuned), encoding="utf-8")
    return TuneReport(benchmark, model, tuned, page, policy_file)


@dataclass(frozen=True)
class ReplayReport(Result):
    policy_file: Path
    since: datetime | None
    until: datetime | None
    replay: Replay

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy_file": str(self.policy_file),
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            **self.replay.to_dict(),
        }


@use_case(Role.VIEWER, action="replaying decisions")
def replay_policy(
    keel: Keel,
    actor: Actor,
    policy_file: Path,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    confidence: float = 0.95,
) -> ReplayReport:
    """Decide the logged predictions (stamped in [since, until)) again under the policy in
    ``policy_file`` and compare expected and realized costs with what was decided."""
    candidate = _read_policy(policy_file)
    costs = candidate.costs or _costs(keel.decision_policy(), source=str(policy_file))
    column = candidate.amount_column or costs.amount
    if column is not None and column not in keel.data_schema().specs:
        raise ConfigError(
            f"{policy_file}: the amount column '{column}' is not in the contract",
            source=str(policy_file),
            path="decisions.costs.amount",
        )
    frame = _logged(keel, since, until, column)
    amounts = frame["_amount"].to_numpy() if column else None
    found = replay(
        costs,
        candidate,
        scores=frame["score"].fill_null(np.nan).to_numpy(),
        decisions=frame["decision"],
        ood=(frame["ood"].list.len().fill_null(0) > 0).to_numpy(),
        labels=frame["label"].fill_null(np.nan).to_numpy(),
        amounts=amounts,
        confidence=confidence,
    )
    return ReplayReport(policy_file, since, until, found)


@use_case(Role.VIEWER, action="reading decision KPIs")
def decision_kpis(keel: Keel, actor: Actor) -> list[ChunkKpis]:
    """Decision KPIs per chunk (``monitoring.chunk``) of the served predictions logged so far,
    the last partial chunk included."""
    from keel.monitoring.monitor import split_chunks  # noqa: PLC0415

    policy = keel.decision_policy()
    costs = policy.costs
    frame = _logged(
        keel, None, None, costs.amount if costs else None, extra=("prediction_id", "time")
    )
    with keel.reader() as unit:
        settled = unit.review_items.find(
            keel.project.name, states=(ItemState.RESOLVED,), limit=10_000_000
        )
    action = keel.project.decisions.review.action
    overridden = {
        item.prediction_id: item.resolution != item.decision
        for item in settled
        if item.decision not in (None, action, "defer")
    }
    chunks = split_chunks(frame, keel.monitor_spec().chunk, now=utcnow(), flush=True)
    return [
        chunk_kpis(
            (c.label, c.start, c.end, c.frame),
            costs=costs,
            review_action=action,
            overridden=overridden,
        )
        for c in chunks
    ]


def _read_policy(path: Path) -> DecisionPolicy:
    """A policy file: a ``decisions:`` section (or a file holding one); errors name its path."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such policy file", path="policy")
    data = load_yaml(path.read_text(encoding="utf-8"), source=str(path))
    if isinstance(data, dict) and "decisions" in data:
        data = data["decisions"]
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a decisions section (a mapping)", source=str(path))
    try:
        return DecisionPolicy.parse(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", source=str(path), path=exc.path) from None


def _costs(policy: DecisionPolicy, *, source: str) -> CostPolicy:
    if policy.costs is None:
        raise ConfigError(
            f"{source}: pricing decisions needs decisions.costs in keel.yaml",
            source=source,
            path="decisions.costs",
            hint="declare the cost of each action for each outcome (docs/decisions.md)",
        )
    return policy.costs


def _benchmark(keel: Keel) -> tuple[str, str, pl.DataFrame, F64, F64]:
    """The champion's frozen benchmark set (labelled rows), its scores and the 0/1 outcomes."""
    registry = keel.registry()
    head, _ = registry.status()
    if head is None or head.state.champion is None:
        raise Conflict(
            "no champion is released: there are no calibrated scores to tune on",
            hint="promote a model first: keel release promote VERSION",
        )
    model = registry.model(head.state.champion)
    name = registry.policy.benchmark or next(iter(model.benchmarks), None)
    with keel.reader() as unit:
        frozen = unit.benchmarks.get(keel.project.name, name) if name else None
    if name is None or frozen is None:
        raise Conflict(f"{model.label} has no frozen benchmark set to tune on")
    target = registry.target
    frame = keel.rows.read(frozen.digest).filter(pl.col(target.column).is_not_null())
    scores = registry.bundle(model.version).score(frame)
    return name, model.label, frame, scores, target.labels(frame[target.column])


def _amounts(frame: pl.DataFrame, costs: CostPolicy) -> F64 | None:
    return frame[costs.amount].cast(pl.Float64).to_numpy() if costs.amount else None


def _policy_yaml(keel: Keel, tuned: Tuned) -> str:
    current = keel.project.decisions
    section: dict[str, Any] = {"thresholds": tuned.thresholds()}
    if current.ood in tuned.actions:
        section["ood"] = current.ood
    section["fallback"] = list(current.fallback)
    return yaml.safe_dump({"decisions": section}, sort_keys=False)


def _logged(
    keel: Keel,
    since: datetime | None,
    until: datetime | None,
    amount: str | None,
    *,
    extra: tuple[str, ...] = (),
) -> pl.DataFrame:
    """Served predictions in the window with their latest outcome (and the amount input)."""
    from keel.store.tables.outcome_log import join_outcomes  # noqa: PLC0415

    predictions, outcomes = keel.prediction_log(), keel.outcome_log()
    try:
        lazy = predictions.scan().filter(pl.col("route").is_null() | (pl.col("route") != "shadow"))
        if since is not None:
            lazy = lazy.filter(pl.col("time") >= since.astimezone(UTC))
        if until is not None:
            lazy = lazy.filter(pl.col("time") < until.astimezone(UTC))
        columns = [*extra, "score", "decision", "ood", "label"]
        if amount is not None:
            lazy = lazy.with_columns(
                pl.col("inputs")
                .str.json_path_match(f"$.{amount}")
                .cast(pl.Float64)
                .alias("_amount")
            )
            columns.append("_amount")
            unpriced = pl.col("_amount").is_null()  # no amount: the row cannot be priced
            lazy = lazy.with_columns(pl.when(unpriced).then(None).otherwise("score").alias("score"))
        return join_outcomes(lazy, outcomes.scan()).select(columns).collect()
    finally:
        predictions.close()
        outcomes.close()
