"""Jensen-Shannon distance on the reference's bins.

``JS = sqrt(KL(r || m) / 2 + KL(c || m) / 2)`` with ``m = (r + c) / 2`` and base-2 logarithms,
over the shares ``r`` and ``c`` of the reference and the current chunk per bin: a metric in
[0, 1] that needs no floor for empty bins (``0 log 0 = 0``), the same as
``scipy.spatial.distance.jensenshannon(r, c, base=2)``.

Use it where PSI's floor matters (rare levels, new categories): it stays bounded and symmetric.
Evidently's default for large samples; its conventional fixed level is 0.1.
"""

from __future__ import annotations

import numpy as np

from keel.monitoring._arrays import F64
from keel.monitoring.drift.spec import Histograms, Statistic, shares


def _kl_to_mixture(p: F64, m: F64) -> F64:
    """``sum p log2(p / m)``, with ``0 log 0 = 0``."""
    ratio = np.ones_like(p)
    np.divide(p, m, out=ratio, where=p > 0)
    terms: F64 = (p * np.log2(ratio)).sum(axis=-1)
    return terms


def jensen_shannon(view: Histograms) -> F64:
    """The Jensen-Shannon distance over the last axis."""
    r, c = shares(view.reference), shares(view.current)
    m = (r + c) / 2.0
    divergence = (_kl_to_mixture(r, m) + _kl_to_mixture(c, m)) / 2.0
    result: F64 = np.sqrt(np.maximum(divergence, 0.0))
    return result


STATISTIC = Statistic(
    "js",
    "histogram",
    frozenset({"numeric", "categorical"}),
    fixed=lambda n, m, bins: 0.1,
    histogram=jensen_shannon,
)
