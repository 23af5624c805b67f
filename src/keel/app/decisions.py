"""The decisions plane: tune thresholds on the champion's frozen benchmark set, and replay logged
predictions under a candidate policy (a what-if before a change is approved).

Both price decisions with ``decisions.costs`` (the candidate file's own costs first, for
replay). Neither changes the project: tuning writes its page and, when asked, a policy file that
replay reads and that can be copied into keel.yaml.
"""

from __future__ import annotations

from collections.abc import Mapping
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
from keel.decisions.policy import DecisionPolicy, DecisionsSpec
from keel.decisions.replay import Replay, replay
from keel.decisions.review import ItemState
from keel.decisions.risk_control import RiskBand, break_even_score, risk_controlled_band
from keel.decisions.tuning import Interval, Tuned, bootstrap_mean, ordered_actions, tune
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
    risk: RiskBand | None = None
    """The risk-controlled band, when one was asked for: the policy written is then this band."""
    risk_cost: Interval | None = None
    """The band's realized cost per record on the benchmark set, with its interval."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "model": self.model,
            **self.tuned.to_dict(),
            "risk_control": None
            if self.risk is None or self.risk_cost is None
            else {**self.risk.to_dict(), "cost_per_record": self.risk_cost.to_dict()},
            "page": str(self.page) if self.page else None,
            "policy_file": str(self.policy_file) if self.policy_file else None,
        }


@use_case(Role.VIEWER, action="tuning decision thresholds")
def tune_thresholds(
    keel: Keel,
    actor: Actor,
    *,
    max_middle_share: float | None = None,
    min_low_share: float | None = None,
    max_error_rate: float | None = None,
    risk_confidence: float | None = None,
    confidence: float = 0.95,
    page: Path | None = None,
    policy_file: Path | None = None,
) -> TuneReport:
    """Thresholds of least realized cost on the champion's frozen benchmark set, under the
    constraints (``decisions.constraints`` unless given); the page (trade-off curve) and the
    policy file when paths are given. With an error rate to control (``max_error_rate`` or
    ``decisions.risk_control``), the policy written is the risk-controlled band instead."""
    from keel.reporting.decisions import render_tuning  # noqa: PLC0415

    section = keel.project.decisions
    limits = section.constraints
    max_middle_share = limits.max_review_rate if max_middle_share is None else max_middle_share
    min_low_share = limits.min_approval_rate if min_low_share is None else min_low_share
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
    risk = _risk_band(
        section,
        costs,
        scores=scores,
        positive=positive,
        amounts=amounts,
        max_error_rate=max_error_rate,
        confidence=risk_confidence,
    )
    risk_cost = None
    if risk is not None:
        _check_limits(risk, max_middle_share, min_low_share)
        risk_cost = _band_cost(
            costs, risk, scores=scores, positive=positive, amounts=amounts, confidence=confidence
        )
    if page is not None:
        page.write_text(render_tuning(keel.project.name, benchmark, tuned), encoding="utf-8")
    if policy_file is not None:
        chosen = risk.thresholds() if risk is not None else tuned.thresholds()
        policy_file.write_text(_policy_yaml(keel, chosen), encoding="utf-8")
    return TuneReport(benchmark, model, tuned, page, policy_file, risk, risk_cost)


def _risk_band(
    section: DecisionsSpec,
    costs: CostPolicy,
    *,
    scores: F64,
    positive: F64,
    amounts: F64 | None,
    max_error_rate: float | None,
    confidence: float | None,
) -> RiskBand | None:
    """The risk-controlled band asked for (arguments first, then keel.yaml), or None."""
    declared = section.risk_control
    if max_error_rate is None and declared is None:
        return None
    alpha = max_error_rate if max_error_rate is not None else declared.max_error_rate  # type: ignore[union-attr]
    level = confidence if confidence is not None else (declared.confidence if declared else 0.9)
    actions = ordered_actions(costs, amounts)
    return risk_controlled_band(
        scores,
        positive,
        actions=actions,
        break_even=break_even_score(costs, actions, amounts),
        max_error_rate=alpha,
        confidence=level,
    )


def _check_limits(band: RiskBand, max_review: float, min_approval: float) -> None:
    """Refuse a band the declared constraints do not allow, saying what it would need."""
    review = band.review_share
    if review > max_review + 1e-12:
        raise InvalidInput(
            f"keeping automatic errors at or below {band.max_error_rate:.1%} with"
            f" {band.confidence:.0%} confidence needs a review rate of {review:.1%} on the"
            f" benchmark set, above the maximum of {max_review:.1%}",
            path="decisions.constraints.max_review_rate",
            hint="allow more review, or a higher error rate (decisions.risk_control)",
        )
    approval = band.share(band.actions[0])
    if approval < min_approval - 1e-12:
        raise InvalidInput(
            f"the risk-controlled band approves {approval:.1%} of the benchmark set, below the"
            f" minimum of {min_approval:.1%}",
            path="decisions.constraints.min_approval_rate",
            hint="allow a higher error rate (decisions.risk_control) or a lower minimum",
        )


def _band_cost(
    costs: CostPolicy,
    band: RiskBand,
    *,
    scores: F64,
    positive: F64,
    amounts: F64 | None,
    confidence: float,
) -> Interval:
    """The band's realized cost per record on the benchmark rows, with a BCa interval."""
    policy = DecisionPolicy.parse({"thresholds": band.thresholds()})
    index = [costs.actions.index(str(d)) for d in policy.decide_many(scores)]
    return bootstrap_mean(costs.realized(index, positive, amounts), confidence=confidence)


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
    by = candidate.segment_column
    if by is not None and by not in keel.data_schema().specs:
        raise ConfigError(
            f"{policy_file}: the segment column '{by}' is not in the contract",
            source=str(policy_file),
            path="decisions.segments.column",
        )
    frame = _logged(keel, since, until, column, segment=by)
    amounts = frame["_amount"].to_numpy() if column else None
    found = replay(
        costs,
        candidate,
        scores=frame["score"].fill_null(np.nan).to_numpy(),
        decisions=frame["decision"],
        ood=(frame["ood"].list.len().fill_null(0) > 0).to_numpy(),
        labels=frame["label"].fill_null(np.nan).to_numpy(),
        amounts=amounts,
        segments=frame["_segment"].to_list() if by else None,
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
    action = keel.project.decisions.review.action
    overridden = _overridden_decisions(keel)
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


@dataclass(frozen=True)
class PolicyKpis(Result):
    """The decision KPIs of the served predictions each decision policy decided."""

    policy: str
    """Its released version (``p2``), else its digest (keel.yaml's section, or a policy never
    registered), else ``not recorded`` (logs from before digests)."""
    digest: str | None
    kpis: ChunkKpis


@use_case(Role.VIEWER, action="reading decision KPIs")
def policy_kpis(keel: Keel, actor: Actor) -> list[PolicyKpis]:
    """Decision KPIs of the served predictions, one row per decision policy that decided them
    (the digest each logged prediction carries), oldest policy first; all priced by the costs
    in force, so two policies compare on one scale."""
    costs = keel.decision_policy().costs
    frame = _logged(
        keel,
        None,
        None,
        costs.amount if costs else None,
        extra=("prediction_id", "time", "policy"),
    )
    action = keel.project.decisions.review.action
    overridden = _overridden_decisions(keel)
    digests = [d for d in frame["policy"].unique(maintain_order=True).to_list() if d]
    with keel.reader() as unit:
        named = unit.policies.by_digests(keel.project.name, digests)
    found = []
    for (digest,), part in frame.sort("time").group_by("policy", maintain_order=True):
        name = f"p{named[digest]}" if digest in named else (digest or "not recorded")
        span = (part["time"].min(), part["time"].max())
        kpis = chunk_kpis(
            (name, span[0], span[1], part),  # type: ignore[arg-type]
            costs=costs,
            review_action=action,
            overridden=overridden,
        )
        found.append(PolicyKpis(name, digest, kpis))
    return found


def _overridden_decisions(keel: Keel) -> dict[str, bool]:
    """Prediction id of each settled review item that had an automatic decision -> whether the
    reviewer changed it."""
    action = keel.project.decisions.review.action
    with keel.reader() as unit:
        settled = unit.review_items.find(
            keel.project.name, states=(ItemState.RESOLVED,), limit=10_000_000
        )
    return {
        item.prediction_id: item.resolution != item.decision
        for item in settled
        if item.decision not in (None, action, "defer")
    }


def _read_policy(path: Path) -> DecisionPolicy:
    """A policy file: a ``decisions:`` section (or a file holding one); errors name its path."""
    data = _decisions_section(_policy_file(path), str(path))
    try:
        return DecisionPolicy.parse(data)
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc.message}", source=str(path), path=exc.path) from None


def _policy_file(path: Path) -> object:
    """The YAML of a policy file (safe, no aliases); a missing file names the argument."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such policy file", path="policy")
    return load_yaml(path.read_text(encoding="utf-8"), source=str(path))


def _decisions_section(data: object, source: str) -> Mapping[str, Any]:
    """``data``'s ``decisions:`` section (``data`` itself when it holds none), a mapping."""
    if isinstance(data, Mapping) and "decisions" in data:
        data = data["decisions"]
    if not isinstance(data, Mapping):
        raise ConfigError(f"{source}: expected a decisions section (a mapping)", source=source)
    return data


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


def _policy_yaml(keel: Keel, thresholds: dict[str, str]) -> str:
    current = keel.project.decisions
    section: dict[str, Any] = {"thresholds": thresholds}
    if current.ood in thresholds:
        section["ood"] = current.ood
    section["fallback"] = list(current.fallback)
    return yaml.safe_dump({"decisions": section}, sort_keys=False)


def _logged(
    keel: Keel,
    since: datetime | None,
    until: datetime | None,
    amount: str | None,
    *,
    segment: str | None = None,
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
        if segment is not None:
            lazy = lazy.with_columns(
                pl.col("inputs").str.json_path_match(f"$.{segment}").alias("_segment")
            )
            columns.append("_segment")
        return join_outcomes(lazy, outcomes.scan()).select(columns).collect()
    finally:
        predictions.close()
        outcomes.close()
