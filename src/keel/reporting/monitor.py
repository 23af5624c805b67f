"""The monitor report: one page of every chunk checked so far.

Three kinds of plot: each drifted feature's reference and current distributions (in the newest
chunk where it drifted), each drifted feature's statistic over time against its threshold, and
estimated against realized performance over time. Incidents are listed with their status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from keel.monitoring.incidents import Incident
from keel.monitoring.ports import ChunkResult
from keel.monitoring.results import Distribution
from keel.reporting.distributions import CURRENT_COLOUR, REFERENCE_COLOUR, distribution_svg
from keel.reporting.html import BOX, DASHES, REPORT_STYLE, escape, legend, page
from keel.reporting.plots import Series, line_svg

ESTIMATE_COLOUR = "#1f77b4"
REALIZED_COLOUR = "#2ca02c"
THRESHOLD_COLOUR = "#d62728"


def render_history(
    project: str, chunks: Sequence[ChunkResult], incidents: Sequence[Incident]
) -> str:
    """The whole page."""
    title = f"Monitoring report: {project}"
    drifted = _drifted_columns(chunks)
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(chunks)} chunks, {sum(c.rows for c in chunks):,} predictions;"
        f" {len(incidents)} incidents; {len(drifted)} features drifted at least once"
        + (f": {escape(', '.join(drifted))}" if drifted else "")
        + ".</p>",
        _incidents_table(incidents),
    ]
    if chunks:
        sections.append("<h2>Performance over time</h2>" + _performance_svg(chunks))
    if any("decisions" in c.results for c in chunks):
        sections.append("<h2>Decision KPIs over time</h2>" + _decision_svgs(chunks))
    if drifted:
        sections.append(
            "<h2>Drifted features</h2>"
            + legend(
                (REFERENCE_COLOUR, BOX, "reference"),
                (CURRENT_COLOUR, BOX, "current"),
                (THRESHOLD_COLOUR, DASHES, "threshold"),
            )
        )
        sections.extend(_feature_section(name, chunks) for name in drifted)
    sections.append(_chunks_table(chunks))
    return page(title, REPORT_STYLE, "".join(sections))


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
    figure = "" if shape is None else distribution_svg(shape)
    statistic = _first_drifted(column)
    series = [
        (
            c.label,
            c.results["drift"]["columns"].get(name, {}).get("statistics", {}).get(statistic, {}),
        )
        for c in chunks
    ]
    values = [(label, s.get("value"), s.get("threshold")) for label, s in series]
    over_time = line_svg(
        [
            ("value", [v for _, v, _ in values], CURRENT_COLOUR, False),
            ("threshold", [t for _, _, t in values], THRESHOLD_COLOUR, True),
        ],
        [label for label, _, _ in values],
        y_label=statistic,
    )
    return (
        f"<div><h3>{escape(name)}</h3>"
        f"<div class='plot'><p>chunk {escape(latest.label)}</p>{figure}</div>"
        f"<div class='plot'><p>{escape(statistic)} per chunk</p>{over_time}</div></div>"
    )


def _first_drifted(column: dict[str, Any]) -> str:
    statistics = column.get("statistics", {})
    for name, result in statistics.items():
        if result.get("drifted"):
            return str(name)
    return str(next(iter(statistics), "psi"))


def _distribution(body: dict[str, Any] | None) -> Distribution | None:
    """The plot data a chunk stored with its drift results, if it did."""
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
    keys = legend(
        (ESTIMATE_COLOUR, BOX, f"estimated {metric}"),
        (REALIZED_COLOUR, BOX, f"realized {metric}"),
        (REFERENCE_COLOUR, DASHES, "reference"),
    )
    lines: list[Series] = [
        ("estimated", estimated, ESTIMATE_COLOUR, False),
        ("realized", realized, REALIZED_COLOUR, False),
        ("reference", reference, REFERENCE_COLOUR, True),
    ]
    return keys + line_svg(lines, [c.label for c in chunks], y_label=metric, width=720)


RATE_COLOURS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2")


def _decision_svgs(chunks: Sequence[ChunkResult]) -> str:
    """Each action's share and the override rate, then expected and realized cost per record,
    over the chunks."""
    kpis = [c.results.get("decisions", {}) for c in chunks]
    labels = [c.label for c in chunks]
    actions = sorted({a for k in kpis for a in k.get("shares", {})})
    rates: list[Series] = [
        (
            f"share {a}",
            [k.get("shares", {}).get(a, 0.0) if k else None for k in kpis],
            colour,
            False,
        )
        for a, colour in zip(actions, RATE_COLOURS, strict=False)
    ]
    rates.append(
        ("override rate", [k.get("override_rate", {}).get("value") for k in kpis], "#7f7f7f", False)
    )
    costs: list[Series] = [
        ("expected cost", [k.get("expected_cost") for k in kpis], ESTIMATE_COLOUR, False),
        ("realized cost", [k.get("realized_cost") for k in kpis], REALIZED_COLOUR, False),
    ]
    keys = legend(*((colour, BOX, name) for name, _, colour, _ in rates))
    parts = [keys + line_svg(rates, labels, y_label="share of records", width=720)]
    if any(v is not None for _, points, _, _ in costs for v in points):
        parts.append(
            legend(*((colour, BOX, name) for name, _, colour, _ in costs))
            + line_svg(costs, labels, y_label="cost per record", width=720)
        )
    return "".join(parts)


def _incidents_table(incidents: Sequence[Incident]) -> str:
    if not incidents:
        return "<p>No incidents.</p>"
    rows = "".join(
        f"<tr class='{'alert' if i.status.value == 'open' else ''}'><td>#{i.seq}</td>"
        f"<td>{i.status.value}</td><td>{i.severity.value}</td><td>{escape(i.category)}</td>"
        f"<td>{i.breaches}</td><td>{escape(i.title)}</td>"
        f"<td>{i.opened_at:%Y-%m-%d %H:%M}</td></tr>"
        for i in incidents
    )
    return (
        "<h2>Incidents</h2><table><tr><th>incident</th><th>status</th><th>severity</th>"
        f"<th>category</th><th>breaches</th><th>title</th><th>opened</th></tr>{rows}</table>"
    )


def _chunks_table(chunks: Sequence[ChunkResult]) -> str:
    rows = "".join(
        f"<tr class='{'alert' if c.breaches else ''}'><td>{escape(c.label)}</td>"
        f"<td>{c.rows:,}</td><td>{escape(c.model or '')}</td><td>{len(c.breaches)}</td>"
        f"<td>{escape('; '.join(b['message'] for b in c.breaches[:4]))}</td></tr>"
        for c in chunks
    )
    return (
        "<h2>Chunks</h2><table><tr><th>chunk</th><th>rows</th><th>model</th><th>breaches</th>"
        f"<th>what</th></tr>{rows}</table>"
    )
