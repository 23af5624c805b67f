"""``keel contract infer``: a starting contract from a sample file."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.lazy import lazy
from keel.cli.output import printable

if TYPE_CHECKING:
    from keel.app import files
else:
    files = lazy("keel.app.files")


app = typer.Typer(help="Work with the data contract.", no_args_is_help=True)


@app.command("infer")
def infer(
    file: Annotated[Path, typer.Argument(help="A sample .csv, .parquet or .jsonl file.")],
    rows: Annotated[int, typer.Option(min=1, help="Read at most this many rows.")] = 100_000,
    entity: Annotated[str | None, typer.Option(help="The entity id column (made unique).")] = None,
    margin: Annotated[float, typer.Option(min=0.0, help="Widen ranges by this share.")] = 0.1,
) -> None:
    """Print a contract section (YAML) that the sample passes; review it before use."""
    text = files.infer_contract_yaml(file, rows=rows, entity=entity, margin=margin)
    typer.echo(printable(text), nl=False)
