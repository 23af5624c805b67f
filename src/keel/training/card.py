"""The model card of a run, in Markdown and HTML: data and lineage, parameters, metrics with
intervals, slices, calibration and importance plots, and the limitations the project declared.

Plots are inline SVG drawn here, so a card is one self-contained file with no script or network.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from keel.evaluation.intervals import INTERVAL_METHODS
from keel.training.runs import Run


@dataclass(frozen=True)
class Card:
    markdown: str
    html: str


def render_card(run: Run, limitations: tuple[str, ...], dataset: str) -> Card:
    sections = _sections(run, limitations, dataset)
    markdown = "\n\n".join(_markdown(title, body) for title, body in sections) + "\n"
    plots = _plots(run)
    body = "".join(_html(title, rows) for title, rows in sections)
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>Model card {html.escape(run.id)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2rem .5rem}"
        "</style></head><body>"
        f"<h1>Model card: {html.escape(run.project)} run {html.escape(run.id)}</h1>"
        f"{body}{plots}</body></html>"
    )
    return Card(markdown, page)


Section = tuple[str, list[tuple[str, ...]]]


def _sections(run: Run, limitations: tuple[str, ...], dataset: str) -> list[Section]:
    env = run.environment
    model = run.params.get("model", {})
    sections: list[Section] = [
        (
            "Lineage",
            [
                ("data", f"{dataset} v{run.data_version}"),
                ("labels", f"v{run.labels_version}" if run.labels_version else "in the data"),
                (
                    "code",
                    f"{env.code_version or 'not in git'}{' (dirty)' if env.code_dirty else ''}",
                ),
                ("packages sha256", env.packages_sha256[:16]),
                ("model sha256", run.model_sha256 or ""),
                ("seed", str(run.seed)),
            ],
        ),
        (
            "Model",
            [("kind", str(model.get("kind"))), ("calibration", str(model.get("calibration")))]
            + [(k, str(v)) for k, v in sorted(model.get("params", {}).items())],
        ),
    ]
    used: set[str] = set()
    for name, metrics in run.metrics.get("benchmarks", {}).items():
        rows: list[tuple[str, ...]] = [
            (metric, f"{e['value']:.4f}", _interval(e), _method(e), str(e["n"]))
            for metric, e in metrics.items()
        ]
        used.update(row[3] for row in rows)
        header = ("metric", "value", "interval", "method", "rows")
        sections.append((f"Benchmark '{name}'", [header, *rows]))
    for name, slices in run.metrics.get("slices", {}).items():
        rows = [("slice", "rows", *_slice_metric_names(slices))]  # header first
        for item in slices:
            values = [
                f"{item['metrics'][m]['value']:.4f}" if m in item.get("metrics", {}) else "n/a"
                for m in _slice_metric_names(slices)
            ]
            rows.append((f"{item['column']}={item['value']}", str(item["rows"]), *values))
        sections.append((f"Slices on '{name}'", rows))
    if used:
        sections.append(
            ("Intervals", [(f"{m}: {INTERVAL_METHODS.get(m, m)}",) for m in sorted(used)])
        )
    sections.append(("Limitations", [(text,) for text in limitations] or [("none declared",)]))
    return sections


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


def _markdown(title: str, rows: list[tuple[str, ...]]) -> str:
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


def _html(title: str, rows: list[tuple[str, ...]]) -> str:
    cells = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f"<h2>{html.escape(title)}</h2><table>{cells}</table>"


def _plots(run: Run) -> str:
    parts = []
    for name, curve in run.metrics.get("calibration", {}).items():
        parts.append(f"<h2>Calibration on '{html.escape(name)}'</h2>{calibration_svg(curve)}")
    gain = run.metrics.get("importance", {}).get("mean_abs_contribution", {})
    if gain:
        parts.append(f"<h2>Importance (mean |contribution|)</h2>{bars_svg(gain)}")
    return "".join(parts)


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
    return (
        f"<svg width='{size}' height='{size}' xmlns='http://www.w3.org/2000/svg'>"
        f"<rect x='{pad}' y='{pad}' width='{scale}' height='{scale}' fill='none' stroke='#999'/>"
        f"<line x1='{pad}' y1='{size - pad}' x2='{size - pad}' y2='{pad}' stroke='#bbb'"
        " stroke-dasharray='4'/>"
        f"<polyline points='{line}' fill='none' stroke='#1f77b4'/>{dots}"
        f"<text x='{size / 2}' y='{size - 5}' text-anchor='middle' font-size='11'>predicted</text>"
        f"<text x='10' y='{size / 2}' font-size='11' transform='rotate(-90 10 {size / 2})'"
        " text-anchor='middle'>observed</text></svg>"
    )


def bars_svg(values: dict[str, float], width: int = 480, top: int = 15) -> str:
    """Horizontal bars for the largest values, labelled."""
    items = sorted(values.items(), key=lambda item: -item[1])[:top]
    largest = max((v for _, v in items), default=0.0) or 1.0
    row, label = 18, 150
    bars = "".join(
        f"<text x='{label - 5}' y='{i * row + 13}' text-anchor='end' font-size='11'>"
        f"{html.escape(name)}</text>"
        f"<rect x='{label}' y='{i * row + 3}' height='12' fill='#1f77b4'"
        f" width='{(width - label - 10) * value / largest:.1f}'/>"
        for i, (name, value) in enumerate(items)
    )
    return f"<svg width='{width}' height='{len(items) * row + 6}' xmlns='http://www.w3.org/2000/svg'>{bars}</svg>"
