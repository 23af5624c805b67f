"""The model card of a run, in Markdown and as one HTML page: data and lineage, parameters,
metrics with intervals, slices, calibration and importance plots, and the limitations the
project declared."""

from __future__ import annotations

from typing import Any

from keel.evaluation.intervals import INTERVAL_METHODS
from keel.reporting.html import escape, page
from keel.reporting.plots import bars_svg, calibration_svg
from keel.training.card import Card
from keel.training.runs import Run

CARD_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
    "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
)

Row = tuple[str, ...]
Section = tuple[str, list[Row]]
"""A titled block of the card: rows of cells (a table) or of one cell (a list)."""


class ModelCards:
    """The ``CardRenderer`` the composition root gives the trainer (``keel.training.card``)."""

    def render(self, run: Run, limitations: tuple[str, ...], dataset: str) -> Card:
        return render_card(run, limitations, dataset)


def render_card(run: Run, limitations: tuple[str, ...], dataset: str) -> Card:
    """Both forms of the card of ``run``."""
    sections = _sections(run, limitations, dataset)
    markdown = "\n\n".join(_markdown(title, body) for title, body in sections) + "\n"
    body = "".join(_html(title, rows) for title, rows in sections)
    heading = f"<h1>Model card: {escape(run.project)} run {escape(run.id)}</h1>"
    return Card(markdown, page(f"Model card {run.id}", CARD_STYLE, heading + body + _plots(run)))


def _sections(run: Run, limitations: tuple[str, ...], dataset: str) -> list[Section]:
    sections = [_lineage(run, dataset), _model(run)]
    used: set[str] = set()
    for name, metrics in run.metrics.get("benchmarks", {}).items():
        rows: list[Row] = [
            (metric, f"{e['value']:.4f}", _interval(e), _method(e), str(e["n"]))
            for metric, e in metrics.items()
        ]
        used.update(row[3] for row in rows)
        header = ("metric", "value", "interval", "method", "rows")
        sections.append((f"Benchmark '{name}'", [header, *rows]))
    for name, slices in run.metrics.get("slices", {}).items():
        sections.append((f"Slices on '{name}'", _slice_rows(slices)))
    if used:
        sections.append(
            ("Intervals", [(f"{m}: {INTERVAL_METHODS.get(m, m)}",) for m in sorted(used)])
        )
    sections.append(("Limitations", [(text,) for text in limitations] or [("none declared",)]))
    return sections


def _lineage(run: Run, dataset: str) -> Section:
    env = run.environment
    return (
        "Lineage",
        [
            ("data", f"{dataset} v{run.data_version}"),
            ("labels", f"v{run.labels_version}" if run.labels_version else "in the data"),
            ("code", f"{env.code_version or 'not in git'}{' (dirty)' if env.code_dirty else ''}"),
            ("packages sha256", env.packages_sha256[:16]),
            ("model sha256", run.model_sha256 or ""),
            ("seed", str(run.seed)),
        ],
    )


def _model(run: Run) -> Section:
    model = run.params.get("model", {})
    rows: list[Row] = [
        ("kind", str(model.get("kind"))),
        ("calibration", str(model.get("calibration"))),
    ]
    return ("Model", rows + [(k, str(v)) for k, v in sorted(model.get("params", {}).items())])


def _slice_rows(slices: list[dict[str, Any]]) -> list[Row]:
    names = _slice_metric_names(slices)
    rows: list[Row] = [("slice", "rows", *names)]  # header first
    for item in slices:
        values = [
            f"{item['metrics'][m]['value']:.4f}" if m in item.get("metrics", {}) else "n/a"
            for m in names
        ]
        rows.append((f"{item['column']}={item['value']}", str(item["rows"]), *values))
    return rows


def _interval(estimate: dict[str, Any]) -> str:
    low, high = estimate.get("low"), estimate.get("high")
    return "" if low is None or high is None else f"[{low:.4f}, {high:.4f}]"


def _method(estimate: dict[str, Any]) -> str:
    """How the interval was made; runs recorded before methods were named used the bootstrap."""
    if "method" in estimate:
        return str(estimate["method"])
    return "none" if estimate.get("low") is None else "bootstrap"


def _slice_metric_names(slices: list[dict[str, Any]]) -> list[str]:
    for item in slices:
        if item.get("metrics"):
            return list(item["metrics"])[:3]
    return []


def _markdown(title: str, rows: list[Row]) -> str:
    lines = [f"## {title}"]
    if rows and len(rows[0]) > 1:
        header = rows[0] if title.startswith(("Benchmark", "Slices")) else ("", "")
        body = rows[1:] if header is rows[0] else rows
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + " --- |" * len(header))
        lines.extend("| " + " | ".join(row) + " |" for row in body)
    else:
        lines.extend(f"- {row[0]}" for row in rows)
    return "\n".join(lines)


def _html(title: str, rows: list[Row]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<h2>{escape(title)}</h2><table>{cells}</table>"


def _plots(run: Run) -> str:
    parts = []
    for name, curve in run.metrics.get("calibration", {}).items():
        parts.append(f"<h2>Calibration on '{escape(name)}'</h2>{calibration_svg(curve)}")
    gain = run.metrics.get("importance", {}).get("mean_abs_contribution", {})
    if gain:
        parts.append(f"<h2>Importance (mean |contribution|)</h2>{bars_svg(gain)}")
    return "".join(parts)
