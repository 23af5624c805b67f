"""The report of a model monitored from its files (``keel monitor file --html``): one page.

Performance over the chunks (each estimated metric with its interval, the realized value where
labels were given, the reference as a dashed line), one table row per chunk with its alerts,
data quality by column (missing rate against the reference's, unseen categories by name,
out-of-range share), and for each column that drifted, its statistic over the chunks against
the threshold and its distributions in the last chunk where it drifted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from keel.monitoring.standalone import ChunkReport
from keel.reporting.distributions import CURRENT_COLOUR, REFERENCE_COLOUR, distribution_svg
from keel.reporting.html import BOX, DASHES, REPORT_STYLE, escape, legend, page
from keel.reporting.plots import Series, line_svg

ESTIMATE_COLOUR = "#1f77b4"
BAND_COLOUR = "#9ecae1"
REALIZED_COLOUR = "#2ca02c"
THRESHOLD_COLOUR = "#d62728"


def render_chunk_report(
    *,
    title: str,
    chunks: Sequence[ChunkReport],
    reference_missing: Mapping[str, float],
    skipped: Mapping[str, str],
    notes: Sequence[str],
) -> str:
    """The whole page."""
    drifted = list(dict.fromkeys(n for c in chunks for n in c.drift.drifted_columns))
    alerted = sum(1 for c in chunks if c.alerts)
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p>{len(chunks)} chunks, {sum(c.rows for c in chunks):,} rows; {alerted} chunks with"
        f" alerts; {len(drifted)} columns drifted at least once"
        + (f": {escape(', '.join(drifted))}" if drifted else "")
        + ".</p>",
        "".join(f"<p><i>{escape(note)}</i></p>" for note in notes),
        _performance(chunks),
        _chunks_table(chunks),
        _quality_table(chunks, reference_missing),
    ]
    if drifted:
        sections.append(
            "<h2>Drifted columns</h2>"
            + legend(
                (REFERENCE_COLOUR, BOX, "reference"),
                (CURRENT_COLOUR, BOX, "chunk"),
                (THRESHOLD_COLOUR, DASHES, "threshold"),
            )
        )
        sections.extend(_column(name, chunks) for name in drifted)
    if skipped:
        items = "".join(f"<li>{escape(n)}: {escape(why)}</li>" for n, why in skipped.items())
        sections.append(f"<h2>Not compared</h2><ul>{items}</ul>")
    return page(title, REPORT_STYLE, "".join(sections))


def _performance(chunks: Sequence[ChunkReport]) -> str:
    names = list(
        dict.fromkeys(
            [n for c in chunks if c.estimated for n in c.estimated.metrics]
            + [n for c in chunks if c.realized for n in c.realized.metrics]
        )
    )
    if not names:
        return ""
    labels = [c.label for c in chunks]
    keys = legend(
        (ESTIMATE_COLOUR, BOX, "estimated"),
        (BAND_COLOUR, DASHES, "interval"),
        (REALIZED_COLOUR, BOX, "realized"),
        (REFERENCE_COLOUR, DASHES, "reference"),
    )
    plots = [keys]
    for name in names:
        estimated = [c.estimated.metrics.get(name) if c.estimated else None for c in chunks]
        realized = [c.realized.metrics.get(name) if c.realized else None for c in chunks]
        lines: list[Series] = [
            ("estimated", [e.value if e else None for e in estimated], ESTIMATE_COLOUR, False),
            ("low", [e.low if e else None for e in estimated], BAND_COLOUR, True),
            ("high", [e.high if e else None for e in estimated], BAND_COLOUR, True),
            ("realized", [r.value if r else None for r in realized], REALIZED_COLOUR, False),
            ("reference", [e.reference if e else None for e in estimated], REFERENCE_COLOUR, True),
        ]
        plots.append(
            f"<div class='plot'><p>{escape(name)}</p>{line_svg(lines, labels, y_label=name)}</div>"
        )
    return "<h2>Performance</h2>" + "".join(plots)


def _chunks_table(chunks: Sequence[ChunkReport]) -> str:
    rows = []
    for chunk in chunks:
        estimated = (
            ", ".join(
                f"{n} {m.value:.3f} [{m.low:.3f}, {m.high:.3f}]"
                for n, m in chunk.estimated.metrics.items()
            )
            if chunk.estimated
            else ""
        )
        realized = (
            ", ".join(f"{n} {m.value:.3f}" for n, m in chunk.realized.metrics.items())
            if chunk.realized
            else ""
        )
        rows.append(
            f"<tr class='{'alert' if chunk.alerts else ''}'><td>{escape(chunk.label)}</td>"
            f"<td>{chunk.rows:,}</td><td>{escape(', '.join(chunk.alerts))}</td>"
            f"<td>{escape(estimated)}</td><td>{escape(realized)}</td></tr>"
        )
    return (
        "<h2>Chunks</h2><table><tr><th>chunk</th><th>rows</th><th>alerts</th>"
        f"<th>estimated</th><th>realized</th></tr>{''.join(rows)}</table>"
    )


def _quality_table(chunks: Sequence[ChunkReport], reference_missing: Mapping[str, float]) -> str:
    """Each quality alert: column, check, rate against its limit (and a missing rate against
    the reference's), unseen values by name."""
    rows = []
    for chunk in chunks:
        for name, codes in chunk.quality.alerts.items():
            column = chunk.quality.columns[name]
            for code in codes:
                check = column.checks[code]
                examples = ", ".join(column.examples) if code == "unseen" else ""
                base = reference_missing.get(name) if code == "missing" else None
                rows.append(
                    f"<tr class='alert'><td>{escape(chunk.label)}</td><td>{escape(name)}</td>"
                    f"<td>{escape(code)}</td><td>{check.rate:.2%}</td>"
                    f"<td>{'' if base is None else f'{base:.2%}'}</td><td>{check.limit:.2%}</td>"
                    f"<td>{escape(examples)}</td></tr>"
                )
    if not rows:
        return "<h2>Data quality</h2><p>No column over its limits.</p>"
    return (
        "<h2>Data quality</h2><table><tr><th>chunk</th><th>column</th><th>check</th>"
        "<th>rate</th><th>reference</th><th>limit</th><th>unseen values</th></tr>"
        f"{''.join(rows)}</table>"
    )


def _column(name: str, chunks: Sequence[ChunkReport]) -> str:
    latest = next(c for c in reversed(chunks) if name in c.drift.drifted_columns)
    column = latest.drift.columns[name]
    statistic = next(s for s, r in column.statistics.items() if r.drifted)
    results = [c.drift.columns[name].statistics.get(statistic) for c in chunks]
    over_time = line_svg(
        [
            ("value", [r.value if r else None for r in results], CURRENT_COLOUR, False),
            ("threshold", [r.threshold if r else None for r in results], THRESHOLD_COLOUR, True),
        ],
        [c.label for c in chunks],
        y_label=statistic,
    )
    return (
        f"<div><h3>{escape(name)}</h3>"
        f"<div class='plot'><p>{escape(latest.label)}</p>"
        f"{distribution_svg(column.distribution)}</div>"
        f"<div class='plot'><p>{escape(statistic)} per chunk</p>{over_time}</div></div>"
    )
