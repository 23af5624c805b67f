"""``keel contract infer``: a starting contract from a sample file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from keel.data.infer import infer_contract, render_contract
from keel.data.ingest import head
from keel.store.sources import open_source

app = typer.Typer(help="Work with the data contract.", no_args_is_help=True)


@app.command("infer")
def infer(
    file: Annotated[Path, typer.Argument(help="A sample .csv, .parquet or .jsonl file.")],
    rows: Annotated[int, typer.Option(min=1, help="Read at most this many rows.")] = 100_000,
    entity: Annotated[str | None, typer.Option(help="The entity id column (made unique).")] = None,
    margin: Annotated[float, typer.Option(min=0.0, help="Widen ranges by this share.")] = 0.1,
) -> None:
    """Print a contract section (YAML) that the sample passes; review it before use."""
    sample = head(open_source(file).chunks(rows), rows)
    typer.echo(render_contract(infer_contract(sample, margin=margin, entity=entity)), nl=False)
