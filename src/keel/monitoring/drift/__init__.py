"""Univariate drift statistics, one module each, registered by stable name.

Each module holds one vectorized formula (its docstring says what it is and when to use it) and
its ``STATISTIC`` registration. A name, once published, keeps its meaning; a changed formula
gets a new name.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from keel.errors import InvalidInput
from keel.monitoring.drift import (
    chi_square,
    jensen_shannon,
    kolmogorov_smirnov,
    psi,
    wasserstein,
)
from keel.monitoring.drift.spec import Grids, Histograms, Statistic

STATISTICS: Mapping[str, Statistic] = MappingProxyType(
    {
        module.STATISTIC.name: module.STATISTIC
        for module in (psi, jensen_shannon, wasserstein, kolmogorov_smirnov, chi_square)
    }
)
"""Every statistic by name: psi, js, wasserstein, ks, chi2."""


def get_statistic(name: str, *, path: str = "statistics") -> Statistic:
    """The statistic called ``name``; InvalidInput listing the valid names otherwise."""
    try:
        return STATISTICS[name]
    except (KeyError, TypeError):
        raise InvalidInput(
            f"unknown drift statistic {name!r}; expected one of: {', '.join(STATISTICS)}",
            path=path,
        ) from None


__all__ = ["STATISTICS", "Grids", "Histograms", "Statistic", "get_statistic"]
