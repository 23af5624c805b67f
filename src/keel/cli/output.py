"""Printing: Rich tables and colours for people, compact JSON for machines."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

PIPE_WIDTH = 10_000
"""The width written to a pipe or a file: no line is cut or wrapped for a terminal that is not
there (``COLUMNS`` still sets it when given)."""


def _console(*, stderr: bool = False) -> Console:
    """A console as wide as its terminal; full width when the output is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty() or "COLUMNS" in os.environ
    return Console(stderr=stderr, highlight=False, width=None if terminal else PIPE_WIDTH)


console = _console()
errors = _console(stderr=True)


def print_json(value: Any) -> None:
    """Write ``value`` as one JSON document on stdout (dates and paths as strings)."""
    sys.stdout.write(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    styles: Callable[[Sequence[Any]], str | None] | None = None,
) -> None:
    """Print rows as a Rich table with a header; a cell too wide for the terminal folds onto
    the next line, never cut (names are copied from here)."""
    grid = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(
            *("" if cell is None else str(cell) for cell in row),
            style=styles(row) if styles else None,
        )
    console.print(grid)


def field_list(pairs: Iterable[tuple[str, Any]]) -> None:
    """Print ``name  value`` lines, aligned, for a single record."""
    pairs = list(pairs)
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        console.print(f"[bold]{name.ljust(width)}[/]  {value}")


@contextmanager
def row_progress(
    title: str, total: int | None, *, quiet: bool = False, unit: str = "rows"
) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar over rows (a spinner when the total is unknown); yields an updater."""
    if quiet:
        yield lambda _done: None
        return
    columns = [
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f} " + unit),
        TimeElapsedColumn(),
    ]
    with Progress(*columns, console=errors, transient=True) as bar:
        task = bar.add_task(title, total=total)
        yield lambda done: bar.update(task, completed=done)


def interval(estimate: dict[str, Any]) -> str:
    """``[low, high]`` of a stored estimate, or ``n/a`` when it has none (no resamples)."""
    low, high = estimate.get("low"), estimate.get("high")
    if low is None or high is None:
        return "n/a"
    return f"[{low:.4f}, {high:.4f}]"
