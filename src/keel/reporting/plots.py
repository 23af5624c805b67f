"""The SVG figures of the pages besides distributions: lines over chunks, a calibration curve and
labelled bars. Each returns one ``<svg>`` element as text."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

from keel.reporting.html import escape, svg

LINE_COLOUR = "#1f77b4"

Series = tuple[str, Sequence[float | None], str, bool]
"""One line of ``line_svg``: name, a value per chunk (None leaves a gap), colour, dashed."""


def line_svg(
    series: Sequence[Series],
    labels: Sequence[str],
    *,
    y_label: str,
    width: int = 420,
    height: int = 220,
) -> str:
    """Lines over chunks; gaps where a value is missing; dashed for thresholds."""
    values = [v for _, points, _, _ in series for v in points if v is not None]
    pad = 40
    if not values or not labels:
        return svg(width, height, "")
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5 * (abs(low) or 1), high + 0.5 * (abs(high) or 1)
    steps = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return pad + i / steps * (width - 2 * pad)

    def y(v: float) -> float:
        return height - pad - (v - low) / (high - low) * (height - 2 * pad)

    parts = [
        f"<rect x='{pad}' y='{pad}' width='{width - 2 * pad}' height='{height - 2 * pad}'"
        " fill='none' stroke='#ccc'/>",
    ]
    for _name, points, colour, dashed in series:
        segments = _segments(
            [None if v is None else f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(points)]
        )
        parts.extend(_polyline(segment, colour, dashed=dashed) for segment in segments)
    parts += [
        f"<text x='{pad}' y='{height - 12}' font-size='11'>{escape(labels[0])}</text>",
        f"<text x='{width - pad}' y='{height - 12}' font-size='11' text-anchor='end'>"
        f"{escape(labels[-1])}</text>",
        f"<text x='4' y='{pad}' font-size='11'>{high:.3g}</text>",
        f"<text x='4' y='{height - pad}' font-size='11'>{low:.3g}</text>",
        f"<text x='12' y='{height / 2}' font-size='11' text-anchor='middle'"
        f" transform='rotate(-90 12 {height / 2})'>{escape(y_label)}</text>",
    ]
    return svg(width, height, "".join(parts))


def _segments(points: Sequence[str | None]) -> list[list[str]]:
    """Runs of consecutive drawn points; a missing one (None) ends a run."""
    groups = itertools.groupby(points, key=lambda point: point is not None)
    return [[p for p in group if p is not None] for drawn, group in groups if drawn]


def _polyline(segment: Sequence[str], colour: str, *, dashed: bool) -> str:
    """One run of a line; a lone point also gets a dot, since a one-point line draws nothing."""
    dash = " stroke-dasharray='5,4'" if dashed else ""
    line = (
        f"<polyline points='{' '.join(segment)}' fill='none' stroke='{colour}'"
        f" stroke-width='2'{dash}/>"
    )
    if len(segment) != 1:
        return line
    cx, cy = segment[0].split(",")
    return f"{line}<circle cx='{cx}' cy='{cy}' r='3' fill='{colour}'/>"


def calibration_svg(curve: dict[str, Any], size: int = 320) -> str:
    """Observed rate against mean predicted probability per bin, with the diagonal."""
    pad = 30
    scale = size - 2 * pad

    def point(x: float, y: float) -> str:
        return f"{pad + x * scale:.1f},{size - pad - y * scale:.1f}"

    pairs = [
        (p, o)
        for p, o, n in zip(
            curve["mean_predicted"], curve["observed_rate"], curve["counts"], strict=True
        )
        if n and p is not None and o is not None
    ]
    dots = "".join(
        f"<circle cx='{point(p, o).split(',')[0]}' cy='{point(p, o).split(',')[1]}' r='3'/>"
        for p, o in pairs
    )
    line = " ".join(point(p, o) for p, o in pairs)
    return svg(
        size,
        size,
        f"<rect x='{pad}' y='{pad}' width='{scale}' height='{scale}' fill='none' stroke='#999'/>"
        f"<line x1='{pad}' y1='{size - pad}' x2='{size - pad}' y2='{pad}' stroke='#bbb'"
        " stroke-dasharray='4'/>"
        f"<polyline points='{line}' fill='none' stroke='{LINE_COLOUR}'/>{dots}"
        f"<text x='{size / 2}' y='{size - 5}' text-anchor='middle' font-size='11'>predicted</text>"
        f"<text x='10' y='{size / 2}' font-size='11' transform='rotate(-90 10 {size / 2})'"
        " text-anchor='middle'>observed</text>",
    )


def bars_svg(values: dict[str, float], width: int = 480, top: int = 15) -> str:
    """Horizontal bars for the largest values, labelled."""
    items = sorted(values.items(), key=lambda item: -item[1])[:top]
    largest = max((v for _, v in items), default=0.0) or 1.0
    row, label = 18, 150
    bars = "".join(
        f"<text x='{label - 5}' y='{i * row + 13}' text-anchor='end' font-size='11'>"
        f"{escape(name)}</text>"
        f"<rect x='{label}' y='{i * row + 3}' height='12' fill='{LINE_COLOUR}'"
        f" width='{(width - label - 10) * value / largest:.1f}'/>"
        for i, (name, value) in enumerate(items)
    )
    return svg(width, len(items) * row + 6, bars)
