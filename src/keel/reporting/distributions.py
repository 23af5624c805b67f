"""Distribution plots: a column's reference against its current shares, as inline SVG."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from keel.monitoring.results import Distribution
from keel.reporting.html import escape, svg

REFERENCE_COLOUR = "#8c8c8c"
CURRENT_COLOUR = "#d62728"

FEW_EDGES = 13
"""A numeric column with at most this many grid edges (a flag, a term in months) is drawn as bars
of its bins' shares: densities of a handful of atoms say nothing."""


def distribution_svg(shape: Distribution) -> str:
    """A column's reference and current distributions, drawn as its kind needs."""
    return numeric_svg(shape) if shape.kind == "numeric" else categorical_svg(shape)


def numeric_svg(shape: Distribution, width: int = 420, height: int = 220) -> str:
    """Densities on the reference grid (the extreme bins left out), reference against current."""
    edges = np.asarray(shape.edges)
    if 2 <= edges.size <= FEW_EDGES:
        return categorical_svg(_as_bins(shape), width)
    reference, current = (_folded(np.asarray(share)) for share in (shape.reference, shape.current))
    inner = slice(1, -1) if edges.size > 5 else slice(0, None)
    left, right = edges[:-1][inner], edges[1:][inner]
    span = right - left
    keep = span > 0
    if not keep.any():
        return _empty_svg(width, height, "no spread to draw")
    left, right, span = left[keep], right[keep], span[keep]
    densities = [share[inner][keep] / span for share in (reference, current)]
    pad = 34
    x0, x1 = float(left[0]), float(right[-1])
    top = max(float(d.max()) for d in densities) or 1.0

    def x(value: float) -> float:
        return pad + (value - x0) / ((x1 - x0) or 1.0) * (width - 2 * pad)

    def y(value: float) -> float:
        return height - pad - value / top * (height - 2 * pad)

    lines = []
    for density, colour in zip(densities, (REFERENCE_COLOUR, CURRENT_COLOUR), strict=True):
        points = " ".join(
            f"{x(a):.1f},{y(d):.1f} {x(b):.1f},{y(d):.1f}"
            for a, b, d in zip(left, right, density, strict=True)
        )
        lines.append(
            f"<polyline points='{points}' fill='none' stroke='{colour}' stroke-width='2'/>"
        )
    return svg(
        width,
        height,
        f"<rect x='{pad}' y='{pad}' width='{width - 2 * pad}' height='{height - 2 * pad}'"
        " fill='none' stroke='#ccc'/>"
        + "".join(lines)
        + f"<text x='{pad}' y='{height - 12}' font-size='11'>{x0:.4g}</text>"
        f"<text x='{width - pad}' y='{height - 12}' font-size='11'"
        f" text-anchor='end'>{x1:.4g}</text>"
        f"<text x='{width / 2}' y='{height - 12}' font-size='11' text-anchor='middle'>value</text>"
        f"<text x='12' y='{height / 2}' font-size='11' text-anchor='middle'"
        f" transform='rotate(-90 12 {height / 2})'>density</text>",
    )


def categorical_svg(shape: Distribution, width: int = 420, top: int = 12) -> str:
    """Shares of the most frequent levels (and unseen ones), reference bar above current bar."""
    reference, current = np.asarray(shape.reference), np.asarray(shape.current)
    order = np.argsort(-np.maximum(reference, current), kind="stable")[:top]
    largest = float(np.maximum(reference, current).max()) or 1.0
    label, row = 120, 26
    bars = []
    for i, k in enumerate(order):
        y0 = i * row + 4
        bars.append(
            f"<text x='{label - 6}' y='{y0 + 14}' font-size='11' text-anchor='end'>"
            f"{escape(shape.labels[k][:18])}</text>"
        )
        for j, (share, colour) in enumerate(
            ((reference[k], REFERENCE_COLOUR), (current[k], CURRENT_COLOUR))
        ):
            length = (width - label - 90) * share / largest
            bars.append(
                f"<rect x='{label}' y='{y0 + j * 10}' width='{length:.1f}' height='9'"
                f" fill='{colour}'/>"
            )
        bars.append(
            f"<text x='{width - 4}' y='{y0 + 14}' font-size='10' text-anchor='end'>"
            f"{reference[k]:.1%} &#8594; {current[k]:.1%}</text>"
        )
    return svg(width, len(order) * row + 8, "".join(bars))


def _folded(shares: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Per grid bin, the share at the maximum added to the last bin."""
    folded = shares[:-1].copy()
    folded[-1] += shares[-1]
    return folded


def _as_bins(shape: Distribution) -> Distribution:
    """A few-edged numeric distribution as labelled bins, then its maximum."""
    edges = shape.edges
    labels = [f"[{low:g}, {high:g})" for low, high in itertools.pairwise(edges)]
    return replace(shape, kind="categorical", labels=(*labels, f"{edges[-1]:g}"), edges=())


def _empty_svg(width: int, height: int, text: str) -> str:
    return svg(
        width,
        height,
        f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle'>{escape(text)}</text>",
    )
