"""Univariate drift: every statistic on every column, each against its threshold, in one pass.

``DriftDetector`` follows the estimator contract: keyword-only parameters kept as given, ``fit``
on a reference (a frame, or a stored ``ReferenceProfile``) returns the detector, learned state
ends in ``_``, and ``check`` before ``fit`` raises ``NotFittedError``. Calibrated thresholds for
the grid statistics are simulated once at ``fit``; those of the histogram statistics once per
chunk size, then reused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
import numpy.typing as npt
import polars as pl

from keel.errors import InvalidInput
from keel.features.errors import NotFittedError
from keel.monitoring._arrays import F64
from keel.monitoring.drift import get_statistic
from keel.monitoring.drift.spec import Statistic
from keel.monitoring.drift.views import (
    current_histogram,
    grids,
    histograms,
    reference_histogram,
    stack,
    widths,
)
from keel.monitoring.null import simulated_grids, simulated_histograms, tail_quantile
from keel.monitoring.reference import (
    BINS,
    GRID,
    CategoricalReference,
    ColumnReference,
    Kind,
    NumericReference,
    ReferenceProfile,
    build_reference,
)
from keel.monitoring.results import ColumnDrift, Distribution, DriftReport, StatisticResult
from keel.monitoring.summary import ColumnCounts, NumericCounts, summarize
from keel.monitoring.thresholds import ThresholdPolicy

DEFAULT_STATISTICS = ("psi", "js", "wasserstein", "ks", "chi2")


class DriftDetector:
    """Checks chunks against a reference with the chosen statistics and threshold policy."""

    def __init__(
        self,
        *,
        statistics: Sequence[str] = DEFAULT_STATISTICS,
        thresholds: ThresholdPolicy | None = None,
        columns: Sequence[str] | None = None,
        grid: int = GRID,
        bins: int = BINS,
    ) -> None:
        self.statistics = statistics
        self.thresholds = thresholds
        self.columns = columns
        self.grid = grid
        self.bins = bins

    def get_params(self) -> dict[str, Any]:
        """The parameters a run records."""
        return {
            "statistics": list(self.statistics),
            "thresholds": self.policy.to_dict(),
            "columns": None if self.columns is None else list(self.columns),
            "grid": self.grid,
            "bins": self.bins,
        }

    @property
    def policy(self) -> ThresholdPolicy:
        """The threshold policy (the default one unless given)."""
        return self.thresholds or ThresholdPolicy()

    def fit(
        self,
        reference: pl.DataFrame | ReferenceProfile,
        *,
        kinds: Mapping[str, Kind] | None = None,
    ) -> Self:
        """Profile the reference (unless given a profile) and simulate the grid thresholds."""
        chosen = [
            get_statistic(name, path=f"statistics[{i}]") for i, name in enumerate(self.statistics)
        ]
        rows = reference.rows if isinstance(reference, ReferenceProfile) else reference.height
        if rows == 0:
            raise InvalidInput("the reference has no rows to compare with", path="reference")
        if isinstance(reference, ReferenceProfile):
            profile = _subset(reference, self.columns)
        else:
            profile = build_reference(
                reference, columns=self.columns, kinds=kinds, grid=self.grid, bins=self.bins
            )
        self.reference_ = profile
        self.plan_ = {
            name: [s for s in chosen if column.kind in s.kinds]
            for name, column in profile.columns.items()
        }
        self.grid_units_ = self._grid_units() if self.policy.method == "calibrated" else {}
        self.histogram_levels_: dict[int, dict[str, F64]] = {}
        return self

    def check(self, current: pl.DataFrame) -> DriftReport:
        """Every planned statistic on every reference column of ``current``."""
        profile = self._fitted()
        if current.height == 0:
            raise InvalidInput("the current data has no rows to compare", path="current")
        counts = summarize(profile, current)
        return self.compare(counts, current.height)

    def compare(self, counts: Mapping[str, ColumnCounts], rows: int) -> DriftReport:
        """The report for a chunk of ``rows`` rows already counted by ``summarize``."""
        profile = self._fitted()
        names = list(profile.columns)
        values = self._values(names, counts)
        levels = self._levels(names, counts, rows)
        columns = {
            name: ColumnDrift(
                column=name,
                kind=profile.columns[name].kind,
                rows=counts[name].rows,
                missing_rate=counts[name].missing / max(counts[name].rows, 1),
                statistics={
                    s.name: StatisticResult(
                        s.name, float(values[s.name][i]), float(levels[s.name][i])
                    )
                    for s in self.plan_[name]
                },
                distribution=distribution(profile.columns[name], counts[name]),
            )
            for i, name in enumerate(names)
        }
        return DriftReport(profile.rows, rows, self.policy, columns, dict(profile.skipped))

    def _fitted(self) -> ReferenceProfile:
        profile: ReferenceProfile | None = getattr(self, "reference_", None)
        if profile is None:
            raise NotFittedError("DriftDetector")
        return profile

    def _statistics(self) -> list[Statistic]:
        seen: dict[str, Statistic] = {}
        for planned in self.plan_.values():
            seen.update({s.name: s for s in planned})
        return list(seen.values())

    def _values(self, names: list[str], counts: Mapping[str, ColumnCounts]) -> dict[str, F64]:
        """Each statistic on all columns at once (NaN where it does not apply)."""
        profile = self.reference_
        refs = [profile.columns[name] for name in names]
        numeric = _numeric_indices(refs)
        hist = histograms(refs, [counts[name] for name in names])
        grid = grids(
            [_numeric(refs[i]) for i in numeric],
            [_numeric_counts(counts[names[i]]) for i in numeric],
        )
        out: dict[str, F64] = {}
        for statistic in self._statistics():
            if statistic.view == "histogram":
                out[statistic.name] = statistic.compute(hist)
            else:
                out[statistic.name] = _scatter(statistic.compute(grid), numeric, len(names))
        return out

    def _levels(
        self, names: list[str], counts: Mapping[str, ColumnCounts], rows: int
    ) -> dict[str, F64]:
        """Each statistic's threshold on every column for this chunk."""
        policy = self.policy
        out: dict[str, F64] = {}
        for statistic in self._statistics():
            if statistic.name in policy.fixed:
                out[statistic.name] = np.full(len(names), float(policy.fixed[statistic.name]))
            elif policy.method == "fixed":
                out[statistic.name] = self._fixed(statistic, names, counts, rows)
            elif statistic.view == "grid":
                out[statistic.name] = self._grid_levels(statistic, names, counts)
            else:
                out[statistic.name] = self._histogram_levels(rows)[statistic.name]
        return out

    def _fixed(
        self, statistic: Statistic, names: list[str], counts: Mapping[str, ColumnCounts], rows: int
    ) -> F64:
        profile = self.reference_
        levels = []
        for name in names:
            reference, found = profile.columns[name], counts[name]
            if statistic.view == "grid" and isinstance(reference, NumericReference):
                levels.append(statistic.fixed(found.rows - found.missing, reference.present, 0))
            else:
                both = reference_histogram(reference) + current_histogram(reference, found)
                levels.append(statistic.fixed(rows, profile.rows, int(np.count_nonzero(both))))
        return np.array(levels)

    def _alphas(self, names: list[str]) -> F64:
        return np.array([self.policy.alpha(len(self.plan_[name])) for name in names])

    def _grid_units(self) -> dict[str, dict[str, float]]:
        """Per grid statistic, each numeric column's level per unit of ``sqrt(1/n + 1/N)``."""
        profile = self.reference_
        names = [n for n, c in profile.columns.items() if isinstance(c, NumericReference)]
        grid_statistics = [s for s in self._statistics() if s.view == "grid"]
        if not names or not grid_statistics:
            return {}
        refs = [_numeric(profile.columns[name]) for name in names]
        rng = np.random.default_rng(self.policy.seed)
        simulated = simulated_grids(
            stack([r.counts.astype(np.float64) for r in refs]),
            stack([widths(r) for r in refs]),
            self.policy.resamples,
            rng,
        )
        alphas = self._alphas(names)
        return {
            s.name: dict(
                zip(names, tail_quantile(s.compute(simulated), alphas).tolist(), strict=True)
            )
            for s in grid_statistics
        }

    def _grid_levels(
        self, statistic: Statistic, names: list[str], counts: Mapping[str, ColumnCounts]
    ) -> F64:
        units = self.grid_units_.get(statistic.name, {})
        levels = np.full(len(names), np.nan)
        for i, name in enumerate(names):
            reference = self.reference_.columns[name]
            if name not in units or not isinstance(reference, NumericReference):
                continue
            present = counts[name].rows - counts[name].missing
            if present and reference.present:
                levels[i] = units[name] * math.sqrt(1.0 / present + 1.0 / reference.present)
        return levels

    def _histogram_levels(self, rows: int) -> dict[str, F64]:
        """Per histogram statistic, each column's calibrated level for chunks of ``rows``."""
        cached = self.histogram_levels_.get(rows)
        if cached is not None:
            return cached
        profile = self.reference_
        names = list(profile.columns)
        cells = stack([reference_histogram(profile.columns[name]) for name in names])
        rng = np.random.default_rng([self.policy.seed, rows])
        simulated = simulated_histograms(
            cells, max(rows, 1), profile.rows, self.policy.resamples, rng
        )
        alphas = self._alphas(names)
        found = {
            s.name: tail_quantile(s.compute(simulated), alphas)
            for s in self._statistics()
            if s.view == "histogram"
        }
        self.histogram_levels_[rows] = found
        return found


def detect_drift(
    reference: pl.DataFrame | ReferenceProfile,
    current: pl.DataFrame,
    *,
    statistics: Sequence[str] = DEFAULT_STATISTICS,
    thresholds: ThresholdPolicy | None = None,
    columns: Sequence[str] | None = None,
    kinds: Mapping[str, Kind] | None = None,
) -> DriftReport:
    """One-off: fit a detector on ``reference`` and check ``current`` with it."""
    detector = DriftDetector(statistics=statistics, thresholds=thresholds, columns=columns)
    return detector.fit(reference, kinds=kinds).check(current)


def distribution(reference: ColumnReference, counts: ColumnCounts) -> Distribution:
    """The shares a plot of this column needs."""
    missing = counts.missing / max(counts.rows, 1)
    reference_missing = reference.missing / max(reference.rows, 1)
    if isinstance(reference, NumericReference) and isinstance(counts, NumericCounts):
        present = max(counts.present, 1)
        return Distribution(
            kind="numeric",
            labels=(),
            edges=tuple(reference.edges.tolist()),
            reference=_bin_shares(reference.counts, reference.present),
            current=_bin_shares(counts.counts, counts.present),
            reference_missing=reference_missing,
            current_missing=missing,
            below=counts.below / present,
            above=counts.above / present,
        )
    assert isinstance(reference, CategoricalReference) and not isinstance(counts, NumericCounts)
    present_ref = max(reference.rows - reference.missing, 1)
    present = max(counts.rows - counts.missing, 1)
    return Distribution(
        kind="categorical",
        labels=(*reference.levels, "(unseen)"),
        edges=(),
        reference=(*(reference.counts / present_ref).tolist(), 0.0),
        current=(*(counts.counts / present).tolist(), counts.unseen_total / present),
        reference_missing=reference_missing,
        current_missing=missing,
    )


def _bin_shares(counts: npt.NDArray[np.int64], present: int) -> tuple[float, ...]:
    """Shares per grid bin, then at the maximum."""
    return tuple((counts / max(present, 1)).tolist())


def _subset(profile: ReferenceProfile, columns: Sequence[str] | None) -> ReferenceProfile:
    if columns is None:
        return profile
    unknown = [name for name in columns if name not in profile.columns]
    if unknown:
        raise InvalidInput(
            f"the reference profile does not monitor {unknown[0]!r};"
            f" it monitors {list(profile.columns)}",
            path="columns",
        )
    kept = {name: profile.columns[name] for name in columns}
    return ReferenceProfile(profile.rows, kept, dict(profile.skipped))


def _numeric_indices(refs: Sequence[ColumnReference]) -> list[int]:
    return [i for i, r in enumerate(refs) if isinstance(r, NumericReference)]


def _numeric(reference: ColumnReference) -> NumericReference:
    assert isinstance(reference, NumericReference)
    return reference


def _numeric_counts(counts: ColumnCounts) -> NumericCounts:
    assert isinstance(counts, NumericCounts)
    return counts


def _result(name: str, values: dict[str, F64], levels: dict[str, F64], i: int) -> StatisticResult:
    return StatisticResult(name, float(values[name][i]), float(levels[name][i]))


def _scatter(values: F64, indices: list[int], size: int) -> F64:
    out = np.full(size, np.nan)
    out[indices] = values
    return out
