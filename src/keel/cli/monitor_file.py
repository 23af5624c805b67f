"""``keel monitor file REF CUR...``: monitor a model trained elsewhere from its files, no
project (``keel.app.standalone`` does the work; this face parses and renders)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.lazy import lazy
from keel.cli.output import console, print_json, table
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel.app import standalone
    from keel.app.standalone import FileMonitorReport
    from keel.monitoring.standalone import ChunkReport
else:
    standalone = lazy("keel.app.standalone")


def monitor_file(
    reference: Annotated[
        Path, typer.Argument(help="The reference: the model's inputs, scores and labels.")
    ],
    current: Annotated[list[Path], typer.Argument(help="Production files (.parquet or .csv).")],
    chunk_rows: Annotated[
        int | None, typer.Option(help="Rows per chunk (default: each file is one chunk).")
    ] = None,
    score: Annotated[
        str | None, typer.Option(help="The column of the classifier's scores (probabilities).")
    ] = None,
    label: Annotated[str | None, typer.Option(help="The column of the outcomes.")] = None,
    prediction: Annotated[
        str | None,
        typer.Option(help="The model's predicted class (0/1), or a regressor's prediction."),
    ] = None,
    threshold: Annotated[
        float | None, typer.Option(help="The classifier's decision threshold on the scores.")
    ] = None,
    task: Annotated[
        str | None, typer.Option(help="classification or regression (default: from the label).")
    ] = None,
    ignore: Annotated[
        str | None, typer.Option(help="Comma-separated columns that are not features (ids...).")
    ] = None,
    false_alarm_rate: Annotated[
        float,
        typer.Option(
            help="Stationary chunks that may alert: on drift (all columns), on each estimate."
        ),
    ] = 0.01,
    html: Annotated[
        Path | None, typer.Option("--html", help="Write the self-contained HTML report here.")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Drift, data quality, estimated and realized performance of every chunk of the current
    files against the reference: a model trained elsewhere, no project needed."""
    if task not in (None, "classification", "regression"):
        raise InvalidInput(
            f"--task must be classification or regression; got {task!r}", path="task"
        )
    request = standalone.FileMonitorRequest(
        reference=reference,
        current=tuple(current),
        chunk_rows=chunk_rows,
        score=score,
        label=label,
        prediction=prediction,
        threshold=threshold,
        task=task,  # type: ignore[arg-type]  # checked above
        ignore=tuple(n.strip() for n in (ignore or "").split(",") if n.strip()),
        false_alarm_rate=false_alarm_rate,
        html=html,
    )
    found = standalone.monitor_files(request)
    if json:
        print_json(found.to_dict())
        return
    _show(found)


def _show(found: FileMonitorReport) -> None:
    table(
        f"{len(found.chunks)} chunks against {found.reference_rows:,} reference rows"
        f" ({found.task})",
        ["chunk", "rows", "drifted", "quality", ""],
        [
            [c.label, f"{c.rows:,}", *_checks(c, found.reference_missing), _verdict(c)]
            for c in found.chunks
        ],
        styles=lambda row: "red" if row[-1] == "ALERT" else None,
    )
    names = list(
        dict.fromkeys(
            [n for c in found.chunks if c.estimated for n in c.estimated.metrics]
            + [n for c in found.chunks if c.realized for n in c.realized.metrics]
        )
    )
    if names:
        table(
            "performance: estimated [95% interval] · realized (! estimate below the reference)",
            ["chunk", *names],
            [[c.label, *(_performance(c, n) for n in names)] for c in found.chunks],
        )
    for note in found.notes:
        console.print(f"note: {note}", markup=False)
    for name, why in found.skipped.items():
        console.print(f"not compared: {name} ({why})", style="dim", markup=False)
    if found.report is not None:
        console.print(f"report written to {found.report}", markup=False)


def _verdict(chunk: ChunkReport) -> str:
    return "ALERT" if chunk.alerts else "ok"


def _checks(chunk: ChunkReport, reference_missing: dict[str, float]) -> list[str]:
    quality = chunk.quality
    shown = [
        f"{name} {code} {quality.columns[name].checks[code].rate:.1%}"
        + _detail(chunk, name, code, reference_missing)
        for name, codes in quality.alerts.items()
        for code in codes
    ]
    return [", ".join(chunk.drift.drifted_columns) or "-", "; ".join(shown) or "-"]


def _detail(chunk: ChunkReport, name: str, code: str, reference_missing: dict[str, float]) -> str:
    """The unseen values by name; a missing rate's reference rate."""
    if code == "unseen":
        return f" ({', '.join(chunk.quality.columns[name].examples)})"
    if code == "missing":
        return f" (reference {reference_missing.get(name, 0.0):.1%})"
    return ""


def _performance(chunk: ChunkReport, name: str) -> str:
    parts = []
    estimate = chunk.estimated.metrics.get(name) if chunk.estimated else None
    if estimate is not None:
        flag = " !" if estimate.alert else ""
        parts.append(f"{estimate.value:.3f} [{estimate.low:.3f}, {estimate.high:.3f}]{flag}")
    realized = chunk.realized.metrics.get(name) if chunk.realized else None
    if realized is not None:
        parts.append(f"{realized.value:.3f}")
    return " · ".join(parts)
