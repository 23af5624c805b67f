"""A drift report as one self-contained HTML page: a table of every statistic, and for each
drifted column its reference and current distributions as inline SVG.

No script, stylesheet or font is fetched, so the page opens anywhere, offline, and can be
attached to an incident as it is.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from dataclasses import replace

import numpy as np
import numpy.typing as npt

from keel.monitoring.results import ColumnDrift, Distribution, DriftReport, MultivariateResult

REFERENCE_COLOUR = "#8c8c8c"
CURRENT_COLOUR = "#d62728"
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
    ".alert{background:#fde2e1}.plot{display:inline-block;vertical-align:top;width:440px;"
    "margin:0 1rem 1rem 0}.plot p{font-size:.85rem}"
)


def render_drift_report(
    report: DriftReport,
    *,
    title: str = "Drift report",
    reference_name: str = "reference",
    current_name: str = "current",
    multivariate: Sequence[MultivariateResult] = (),
) -> str:
    """The whole page."""
    drifted = report.drifted_columns
    summary = (
        f"<p>{report.current_rows:,} {html.escape(current_name)} rows against"
        f" {report.reference_rows:,} {html.escape(reference_name)} rows;"
        f" thresholds {html.escape(report.policy.method)}"
        + (
            f" at a false-alarm rate of {report.policy.false_alarm_rate:g} per column"
            if report.policy.method == "calibrated"
            else ""
        )
        + f". <b>{len(drifted)} of {len(report.columns)} columns drifted</b>"
        + (f": {html.escape(', '.join(drifted))}" if drifted else "")
        + ".</p>"
    )
    plots = "".join(_plot_section(report.columns[name]) for name in drifted)
    legend = (
        f"<p><span style='color:{REFERENCE_COLOUR}'>&#9632; {html.escape(reference_name)}</span>"
        f" &nbsp; <span style='color:{CURRENT_COLOUR}'>&#9632;"
        f" {html.escape(current_name)}</span></p>"
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{summary}"
        + (f"<h2>Drifted columns</h2>{legend}{plots}" if drifted else "")
        + _multivariate_table(multivariate)
        + f"<h2>All statistics</h2>{_statistics_table(report)}"
        + _skipped(report)
        + "</body></html>"
    )


def _statistics_table(report: DriftReport) -> str:
    names = list(dict.fromkeys(s for c in report.columns.values() for s in c.statistics))
    header = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for name, column in report.columns.items():
        cells = "".join(_cell(column, statistic) for statistic in names)
        mark = "yes" if column.drifted else ""
        rows.append(
            f"<tr><td>{html.escape(name)}</td><td>{column.kind}</td>"
            f"<td>{column.missing_rate:.1%}</td>{cells}<td>{mark}</td></tr>"
        )
    return (
        "<table><tr><th>column</th><th>kind</th><th>missing</th>"
        f"{header}<th>drifted</th></tr>{''.join(rows)}</table>"
        "<p>Each cell: value / threshold.</p>"
    )


def _cell(column: ColumnDrift, statistic: str) -> str:
    result = column.statistics.get(statistic)
    if result is None:
        return "<td></td>"
    value = "n/a" if not np.isfinite(result.value) else f"{result.value:.4g}"
    css = " class='alert'" if result.drifted else ""
    return f"<td{css}>{value} / {result.threshold:.4g}</td>"


def _multivariate_table(results: Sequence[MultivariateResult]) -> str:
    if not results:
        return ""
    rows = "".join(
        f"<tr{' class=alert' if r.drifted else ''}><td>{html.escape(r.method)}</td>"
        f"<td>{r.value:.4g}</td><td>{r.expected:.4g}</td>"
        f"<td>{'' if r.lower is None else f'{r.lower:.4g}'}</td><td>{r.threshold:.4g}</td>"
        f"<td>{'yes' if r.drifted else ''}</td></tr>"
        for r in results
    )
    return (
        "<h2>Multivariate</h2><table><tr><th>method</th><th>value</th><th>expected</th>"
        f"<th>lower</th><th>upper</th><th>drifted</th></tr>{rows}</table>"
    )


def _skipped(report: DriftReport) -> str:
    if not report.skipped:
        return ""
    items = "".join(
        f"<li>{html.escape(name)}: {html.escape(why)}</li>" for name, why in report.skipped.items()
    )
    return f"<h2>Not compared</h2><ul>{items}</ul>"


def _plot_section(column: ColumnDrift) -> str:
    shape = column.distribution
    figure = numeric_svg(shape) if shape.kind == "numeric" else categorical_svg(shape)
    alerts = ", ".join(
        f"{name} {r.value:.3g} &gt; {r.threshold:.3g}"
        for name, r in column.statistics.items()
        if r.drifted
    )
    notes = f"missing: {shape.reference_missing:.1%} &#8594; {shape.current_missing:.1%}" + (
        f"; beyond the reference range: {shape.below:.1%} below, {shape.above:.1%} above"
        if shape.kind == "numeric" and shape.below + shape.above >= 0.0005
        else ""
    )
    return (
        f"<div class='plot'><h3>{html.escape(column.column)}</h3>{figure}"
        f"<p>{alerts}<br>{notes}</p></div>"
    )


FEW_EDGES = 13
"""A numeric column with at most this many grid edges (a flag, a term in months) is drawn as bars
of its bins' shares: densities of a handful of atoms say nothing."""


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
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
        f"<rect x='{pad}' y='{pad}' width='{width - 2 * pad}' height='{height - 2 * pad}'"
        " fill='none' stroke='#ccc'/>"
        + "".join(lines)
        + f"<text x='{pad}' y='{height - 12}' font-size='11'>{x0:.4g}</text>"
        f"<text x='{width - pad}' y='{height - 12}' font-size='11'"
        f" text-anchor='end'>{x1:.4g}</text>"
        f"<text x='{width / 2}' y='{height - 12}' font-size='11' text-anchor='middle'>value</text>"
        f"<text x='12' y='{height / 2}' font-size='11' text-anchor='middle'"
        f" transform='rotate(-90 12 {height / 2})'>density</text></svg>"
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
            f"{html.escape(shape.labels[k][:18])}</text>"
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
    height = len(order) * row + 8
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
        + "".join(bars)
        + "</svg>"
    )


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
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>"
        f"<text x='{width / 2}' y='{height / 2}' text-anchor='middle'>{html.escape(text)}</text>"
        "</svg>"
    )
