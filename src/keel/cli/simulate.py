"""``keel simulate``: loan applications for the example project, with scripted incidents."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from keel.cli.lazy import lazy
from keel.cli.output import print_json, row_progress, say
from keel.errors import InvalidInput

if TYPE_CHECKING:
    from keel import simulate as sim
    from keel.simulate import Incident
else:
    sim = lazy("keel.simulate")

DEFAULTS: dict[str, dict[str, Any]] = {  # one entry per kind of ``keel.simulate.KINDS``
    "unit_change": {"column": "income", "factor": 0.001, "at": 0.5},
    "renamed_column": {"column": "income", "new_name": "income_eur", "at": 0.5},
    "new_category": {"column": "purpose", "value": "crypto", "share": 0.05, "at": 0.5},
    "null_spike": {"column": "credit_score", "rate": 0.6, "at": 0.5},
    "covariate_drift": {"column": "income", "shift": 0.5, "at": 0.25, "until": 1.0},
    "concept_drift": {"at": 0.5},
    "label_delay": {"delay": 30 * 86_400},
}


def parse_incident(text: str) -> Incident:
    """'unit_change' or 'unit_change:column=age,factor=10,at=0.3' (defaults fill the rest)."""
    kind, _, rest = text.partition(":")
    if kind not in DEFAULTS:
        raise InvalidInput(
            f"unknown incident {kind!r}; expected one of: {', '.join(sorted(DEFAULTS))}",
            path="incident",
        )
    body: dict[str, Any] = {"kind": kind, **DEFAULTS[kind]}
    for item in filter(None, rest.split(",")):
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidInput(f"incident settings are key=value; got {item!r}", path="incident")
        body[key.strip()] = _value(value.strip())
    return sim.incident_from_dict(body)


def _value(text: str) -> Any:
    try:
        return float(text) if any(c in text for c in ".e") else int(text)
    except ValueError:
        return text


def simulate(
    out: Annotated[Path, typer.Option("--out", help="A .csv, .parquet or .jsonl file.")],
    rows: Annotated[int, typer.Option(min=1, help="How many applications.")] = 100_000,
    seed: Annotated[int, typer.Option(help="Same seed, same rows.")] = 7,
    id_offset: Annotated[
        int,
        typer.Option(
            min=0,
            help="Entity ids start at a-(OFFSET+1). Files of separate runs share ids unless their"
            " offsets leave room for each other's rows (e.g. --id-offset 1000000).",
        ),
    ] = 0,
    start: Annotated[str, typer.Option(help="First application time (ISO).")] = "2024-05-01",
    end: Annotated[str, typer.Option(help="End of the window (ISO, exclusive).")] = "2024-06-01",
    incident: Annotated[
        list[str] | None,
        typer.Option(help=f"Scripted incident (repeatable): {', '.join(sorted(DEFAULTS))}."),
    ] = None,
    by_month: Annotated[
        bool,
        typer.Option(
            "--by-month",
            help="--out is a folder: one file per month (YYYY-MM.parquet), ids unique across them.",
        ),
    ] = False,
    json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Write simulated loan applications matching the loan example's contract.

    Entity ids (application_id) number the rows of one run from a-0000000001, whatever the seed:
    files of separate runs share ids unless each run gets its own --id-offset. Several months
    from one run (--by-month) never share ids.
    """
    incidents = [parse_incident(text) for text in incident or []]
    window = (_moment(start, "start"), _moment(end, "end"))
    with row_progress(f"simulating {out.name}", rows, quiet=json) as progress:
        arguments: dict[str, Any] = {
            "rows": rows,
            "seed": seed,
            "id_offset": id_offset,
            "start": window[0],
            "end": window[1],
            "incidents": incidents,
            "progress": lambda done, _total: progress(done),
        }
        paths = (
            sim.write_months(out, **arguments)
            if by_month
            else sim.write_simulation(out, **arguments)
        )
    labels_path = None
    late = sim.withheld_labels(
        rows=rows,
        seed=seed,
        start=window[0],
        end=window[1],
        incidents=incidents,
        id_offset=id_offset,
    )
    if late.height:
        labels_path = (
            out / "late-labels.csv" if by_month else out.with_name(f"{out.stem}-labels.csv")
        )
        late.write_csv(labels_path)
    if json:
        print_json(
            {
                "files": [str(p) for p in paths],
                "rows": rows,
                "late_labels": str(labels_path) if labels_path else None,
            }
        )
        return
    for path in paths:
        say("wrote {}", path)
    if labels_path:
        say("wrote {:,} late labels to {}", late.height, labels_path)


def _moment(text: str, field: str) -> datetime:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"--{field} must be an ISO date or datetime; got {text!r}", path=field
        ) from None
