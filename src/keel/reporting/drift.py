"""The drift report: one page with a table of every statistic, and for each drifted column its
reference and current distributions."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from keel.monitoring.results import ColumnDrift, DriftReport, MultivariateResult
from keel.reporting.distributions import CURRENT_COLOUR, REFERENCE_COLOUR, distribution_svg
from keel.reporting.html import BOX, REPORT_STYLE, escape, legend, page


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
    plots = "".join(_plot_section(report.columns[name]) for name in drifted)
    keys = legend((REFERENCE_COLOUR, BOX, reference_name), (CURRENT_COLOUR, BOX, current_name))
    return page(
        title,
        REPORT_STYLE,
        f"<h1>{escape(title)}</h1>{_summary(report, reference_name, current_name)}"
        + (f"<h2>Drifted columns</h2>{keys}{plots}" if drifted else "")
        + _multivariate_table(multivariate)
        + f"<h2>All statistics</h2>{_statistics_table(report)}"
        + _skipped(report),
    )


def _summary(report: DriftReport, reference_name: str, current_name: str) -> str:
    drifted = report.drifted_columns
    policy = report.policy
    return (
        f"<p>{report.current_rows:,} {escape(current_name)} rows against"
        f" {report.reference_rows:,} {escape(reference_name)} rows;"
        f" thresholds {escape(policy.method)}"
        + (
            f" at a false-alarm rate of {policy.false_alarm_rate:g} per column"
            if policy.method == "calibrated"
            else ""
        )
        + f". <b>{len(drifted)} of {len(report.columns)} columns drifted</b>"
        + (f": {escape(', '.join(drifted))}" if drifted else "")
        + ".</p>"
    )


def _statistics_table(report: DriftReport) -> str:
    names = list(dict.fromkeys(s for c in report.columns.values() for s in c.statistics))
    header = "".join(f"<th>{escape(n)}</th>" for n in names)
    rows = []
    for name, column in report.columns.items():
        cells = "".join(_cell(column, statistic) for statistic in names)
        mark = "yes" if column.drifted else ""
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{column.kind}</td>"
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
        f"<tr{' class=alert' if r.drifted else ''}><td>{escape(r.method)}</td>"
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
        f"<li>{escape(name)}: {escape(why)}</li>" for name, why in report.skipped.items()
    )
    return f"<h2>Not compared</h2><ul>{items}</ul>"


def _plot_section(column: ColumnDrift) -> str:
    shape = column.distribution
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
        f"<div class='plot'><h3>{escape(column.column)}</h3>{distribution_svg(shape)}"
        f"<p>{alerts}<br>{notes}</p></div>"
    )
