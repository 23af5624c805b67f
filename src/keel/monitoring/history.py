"""The monitor report: one self-contained HTML page of every chunk checked so far.

Three kinds of plot, all inline SVG (the page needs no network to open): each drifted feature's
reference and current distributions (in the newest chunk where it drifted), each drifted
feature's statistic over time against its threshold, and estimated against realized performance
over time. Incidents are listed with their status.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from keel.monitoring.incidents import Incident
from keel.monitoring.ports import ChunkResult
from keel.monitoring.report import (
    CURRENT_COLOUR,
    REFERENCE_COLOUR,
    STYLE,
    categorical_svg,
    numeric_svg,
)
from keel.monitoring.results import Distribution

ESTIMATE_COLOUR = "#1f77b4"
REALIZED_COLOUR = "#2ca02c"
THRESHOLD_COLOUR = "#d62728"


def render_history(
    project: str, chunks: Sequence[ChunkResult], incidents: Sequence[Incident]
) -> str:
    title = f"Monitoring report: {project}"
    drifted = _drifted_columns(chunks)
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(chunks)} chunks, {sum(c.rows for c in chunks):,} predictions;"
        f" {len(incidents)} incidents; {len(drifted)} features drifted at least once"
        + (f": {html.escape(', '.join(drifted))}" if drifted else "")
        + ".</p>",
        _incidents_table(incidents),
    ]
    if chunks:
        sections.append("<h2>Performance over time</h2>" + _performance_svg(chunks))
    if drifted:
        sections.append(
            "<h2>Drifted features</h2>"
            f"<p><span style='color:{REFERENCE_COLOUR}'>&#9632; reference</span> &nbsp;"
            f" <span style='color:{CURRENT_COLOUR}'>&#9632; current</span> &nbsp;"
            f" <span style='color:{THRESHOLD_COLOUR}'>- - threshold</span></p>"
        )
        sections.extend(_feature_section(name, chunks) for name in drifted)
    sections.append(_chunks_table(chunks))
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        + "".join(sections)
        + "</body></html>"
    )


def _drifted_columns(chunks: Sequence[ChunkResult]) -> list[str]:
    seen: dict[str, None] = {}
    for chunk in chunks:
        for name in chunk.results.get("drift", {}).get("drifted_columns", []):
            seen[name] = None
    return list(seen)


def _feature_section(name: str, chunks: Sequence[ChunkResult]) -> str:
    latest = next(
        c for c in reversed(chunks) if name in c.results.get("drift", {}).get("drifted_columns", [])
    )
    column = latest.results["drift"]["columns"][name]
    shape = _distribution(column.get("distribution"))
    figure = ""
    if shape is not None:
        figure = numeric_svg(shape) if shape.kind == "numeric" else categorical_svg(shape)
    statistic = _first_drifted(column)
    series = [
        (
            c.label,
            c.results["drift"]["columns"].get(name, {}).get("statistics", {}).get(statistic, {}),
        )
        for c in chunks
    ]
    values = [(label, s.get("value"), s.get("threshold")) for label, s in series]
    over_time = _line_svg(
        [
            ("value", [v for _, v, _ in values], CURRENT_COLOUR, False),
            ("threshold", [t for _, _, t in values], THRESHOLD_COLOUR, True),
        ],
        [label for label, _, _ in values],
        y_label=statistic,
    )
    return (
        f"<div><h3>{html.escape(name)}</h3>"
        f"<div class='plot'><p>chunk {html.escape(latest.label)}</p>{figure}</div>"
        f"<div class='plot'><p>{html.escape(statistic)} per chunk</p>{over_time}</div></div>"
    )


def _first_drifted(column: dict[str, Any]) -> str:
    statistics = column.get("statistics", {})
    for name, result in statistics.items():
        if result.get("drifted"):
            return str(name)
    return str(next(iter(statistics), "psi"))


def _distribution(body: dict[str, Any] | None) -> Distribution | None:
    if not body:
        return None
    return Distribution(
        kind=body["kind"],
        labels=tuple(body["labels"]),
        edges=tuple(body["edges"]),
        reference=tuple(body["reference"]),
        current=tuple(body["current"]),
        reference_missing=body["reference_missing"],
        current_missing=body["current_missing"],
        below=body.get("below", 0.0),
        above=body.get("above", 0.0),
    )


def _performance_svg(chunks: Sequence[ChunkResult]) -> str:
    estimated: list[float | None] = []
    realized: list[float | None] = []
    reference: list[float | None] = []
    metric = "roc_auc"
    for chunk in chunks:
        found = chunk.results.get("estimated", {}).get("metrics", {})
        metric = next(iter(found), metric)
        estimated.append(found.get(metric, {}).get("value"))
        real = chunk.results.get("realized", {}).get("metrics", {}).get(metric)
        realized.append(real.get("value") if real else None)
        reference.append(chunk.results.get("reference", {}).get(metric))
    legend = (
        f"<p><span style='color:{ESTIMATE_COLOUR}'>&#9632; estimated {metric}</span> &nbsp;"
        f" <span style='color:{REALIZED_COLOUR}'>&#9632; realized {metric}</span> &nbsp;"
        f" <span style='color:#8c8c8c'>- - reference</span></p>"
    )
    return legend + _line_svg(
        [
            ("estimated", estimated, ESTIMATE_COLOUR, False),
            ("realized", realized, REALIZED_COLOUR, False),
            ("reference", reference, "#8c8c8c", True),
        ],
        [c.label for c in chunks],
        y_label=metric,
        width=720,
    )


def _line_svg(
    series: Sequence[tuple[str, Sequence[float | None], str, bool]],
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
        return f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'></svg>"
    low, high = min(values), max(values)
    if high == low:
        low, high = low - 0.5 * (abs(low) or 1), high + 0.5 * (abs(high) or 1)
    steps = max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return pad + i / steps * (width - 2 * pad)

    def y(v: float) -> float:
        return height - pad - (v - low) / (high - low) * (height - 2 * pad)

    parts = [
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>",
        f"<rect x='{pad}' y='{pad}' width='{width - 2 * pad}' height='{height - 2 * pad}'"
        " fill='none' stroke='#ccc'/>",
    ]
    for _name, points, colour, dashed in series:
        run: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(points):
            if v is None:
                if run:
                    segments.append(run)
                run = []
                continue
            run.append(f"{x(i):.1f},{y(v):.1f}")
        if run:
            segments.append(run)
        dash = " stroke-dasharray='5,4'" if dashed else ""
        for segment in segments:
            parts.append(
                f"<polyline points='{' '.join(segment)}' fill='none' stroke='{colour}'"
                f" stroke-width='2'{dash}/>"
            )
            if len(segment) == 1:
                cx, cy = segment[0].split(",")
                parts.append(f"<circle cx='{cx}' cy='{cy}' r='3' fill='{colour}'/>")
    parts += [
        f"<text x='{pad}' y='{height - 12}' font-size='11'>{html.escape(labels[0])}</text>",
        f"<text x='{width - pad}' y='{height - 12}' font-size='11' text-anchor='end'>"
        f"{html.escape(labels[-1])}</text>",
        f"<text x='4' y='{pad}' font-size='11'>{high:.3g}</text>",
        f"<text x='4' y='{height - pad}' font-size='11'>{low:.3g}</text>",
        f"<text x='12' y='{height / 2}' font-size='11' text-anchor='middle'"
        f" transform='rotate(-90 12 {height / 2})'>{html.escape(y_label)}</text></svg>",
    ]
    return "".join(parts)


def _incidents_table(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return "<p>No incidents.</p>"
    rows = "".join(
        f"<tr class='{'alert' if i.status.value == 'open' else ''}'><td>#{i.seq}</td>"
        f"<td>{i.status.value}</td><td>{i.severity.value}</td><td>{html.escape(i.category)}</td>"
        f"<td>{i.breaches}</td><td>{html.escape(i.title)}</td>"
        f"<td>{i.opened_at:%Y-%m-%d %H:%M}</td></tr>"
        for i in incidents
    )
    return (
        "<h2>Incidents</h2><table><tr><th>incident</th><th>status</th><th>severity</th>"
        f"<th>category</th><th>breaches</th><th>title</th><th>opened</th></tr>{rows}</table>"
    )


def _chunks_table(chunks: Sequence[ChunkResult]) -> str:
    rows = "".join(
        f"<tr class='{'alert' if c.breaches else ''}'><td>{html.escape(c.label)}</td>"
        f"<td>{c.rows:,}</td><td>{html.escape(c.model or '')}</td><td>{len(c.breaches)}</td>"
        f"<td>{html.escape('; '.join(b['message'] for b in c.breaches[:4]))}</td></tr>"
        for c in chunks
    )
    return (
        "<h2>Chunks</h2><table><tr><th>chunk</th><th>rows</th><th>model</th><th>breaches</th>"
        f"<th>what</th></tr>{rows}</table>"
    )
