"""The tuning page of ``keel decisions tune``: the chosen thresholds, their cost with its
interval, and the trade-off between the share of records sent to the middle action (a person)
and the least cost reachable under it."""

from __future__ import annotations

from keel.decisions.tuning import Tuned
from keel.reporting.html import BOX, REPORT_STYLE, escape, legend, page
from keel.reporting.plots import line_svg

CURVE_COLOUR = "#1f77b4"


def render_tuning(project: str, benchmark: str, tuned: Tuned) -> str:
    """The whole page, self-contained."""
    title = f"Decision thresholds: {project}"
    cost = tuned.cost
    rows = "".join(
        f"<tr><td>{escape(name)}</td><td>{escape(band)}</td>"
        f"<td>{tuned.shares.get(name, 0.0):.1%}</td></tr>"
        for name, band in tuned.thresholds().items()
    )
    curve = line_svg(
        [("least cost", [c for _, c in tuned.curve], CURVE_COLOUR, False)],
        [f"{r:.0%}" for r, _ in tuned.curve],
        y_label="cost per record",
        width=640,
        height=300,
    )
    body = (
        f"<h1>{escape(title)}</h1>"
        f"<p>Tuned on the frozen benchmark set <b>{escape(benchmark)}</b> ({tuned.rows:,} labelled"
        f" rows). Mean cost per record {cost.value:,.2f}, {cost.confidence:.0%} interval"
        f" [{cost.low:,.2f}, {cost.high:,.2f}] (each row charged under thresholds tuned without"
        f" it; bootstrap over rows); on the rows that chose them {tuned.fit_cost:,.2f}.</p>"
        f"<table><tr><th>action</th><th>scores</th><th>share</th></tr>{rows}</table>"
        f"<h2>Trade-off</h2><p>Least mean cost per record by the largest share of records allowed"
        f" to the middle action ({escape(tuned.actions[1])}).</p>"
        + legend((CURVE_COLOUR, BOX, "least cost"))
        + curve
    )
    return page(title, REPORT_STYLE, body)
