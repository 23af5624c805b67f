"""Printing: Rich tables and colours for people, compact JSON for machines.

Everything that comes from data, files, users or the network is shown as text, never as markup:
``table`` and ``field_list`` print their cells as plain text, and ``say`` fills a trusted markup
template with escaped values. Control characters (ANSI escapes, bidirectional overrides, bells,
carriage returns) are shown as ``\\xNN`` instead of being sent to the terminal. Commands print
data only through these helpers (or ``safe``/``printable`` when they build a string themselves).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

PIPE_WIDTH = 10_000
"""The width written to a pipe or a file: no line is cut or wrapped for a terminal that is not
there (``COLUMNS`` still sets it when given)."""


def _console(*, stderr: bool = False) -> Console:
    """A console as wide as its terminal; full width when the output is not a terminal."""
    stream = sys.stderr if stderr else sys.stdout
    terminal = stream.isatty() or "COLUMNS" in os.environ
    return Console(
        stderr=stderr, highlight=False, emoji=False, width=None if terminal else PIPE_WIDTH
    )


console = _console()
errors = _console(stderr=True)

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(value: Any) -> str:
    """``str(value)`` with every control character but newline and tab shown as ``\\xNN``."""
    return _CONTROL.sub(_visible, str(value))


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe(value: Any) -> str:
    """``value`` ready to put inside Rich markup: printable, and its brackets escaped."""
    return escape(printable(value))


def markup(template: str, *values: Any) -> Text:
    """Trusted markup ``template`` whose ``{}`` fields are filled with escaped ``values``.

    Numbers keep their format specs (``{:,}``, ``{:.3f}``); everything else is text.
    """
    return Text.from_markup(template.format(*(_field(v) for v in values)), emoji=False)


def say(template: str, *values: Any, err: bool = False) -> None:
    """Print ``markup(template, *values)`` on stdout (or stderr with ``err``)."""
    (errors if err else console).print(markup(template, *values), soft_wrap=err)


def _field(value: Any) -> Any:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    if isinstance(value, Text):
        return value.markup  # a Text built by ``markup``: its own escaped markup
    return safe(value)


def _cell(value: Any) -> Text:
    if isinstance(value, Text):
        return value
    return Text("" if value is None else printable(value))


def print_json(value: Any) -> None:
    """Write ``value`` as one JSON document on stdout (dates and paths as strings)."""
    sys.stdout.write(orjson.dumps(value, default=str, option=orjson.OPT_INDENT_2).decode())
    sys.stdout.write("\n")
    sys.stdout.flush()


MIN_GIVING_WIDTH = 3
"""The narrowest a column that gives way is folded to before the table outgrows the terminal."""


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    ids: Collection[int] = (0,),
    styles: Callable[[Sequence[Any]], str | None] | None = None,
) -> None:
    """Print rows as a Rich table with a header.

    The columns at the positions ``ids`` (the first one by default) hold what people copy and
    type back (model names, batch, run and version ids): they are never folded, cut or shrunk.
    The other columns give way: a cell too wide for the terminal folds onto the next line, never
    cut. When even that cannot fit the terminal, the table is printed wider than the terminal
    rather than breaking an id.
    """
    raw = [list(row) for row in rows]
    cells = [[_cell(cell) for cell in row] for row in raw]
    headers = [_cell(column) for column in columns]
    grid = Table(
        title=None if title is None else _cell(title), title_justify="left", header_style="bold"
    )
    needed = 3 * len(columns) + 1  # borders and padding of Rich's default box
    for index, header in enumerate(headers):
        if index in ids:
            width = max((row[index].cell_len for row in cells if index < len(row)), default=0)
            width = max(width, header.cell_len)
            grid.add_column(header, width=width, no_wrap=True, overflow="ignore")
            needed += width
        else:
            grid.add_column(header, overflow="fold")
            needed += MIN_GIVING_WIDTH
    for values, row in zip(raw, cells, strict=True):
        grid.add_row(*row, style=styles(values) if styles else None)
    terminal = console.width
    if needed <= terminal:
        console.print(grid)
        return
    console.width = needed  # Rich never prints wider than its console's width
    try:
        console.print(grid)
    finally:
        console.width = terminal


def field_list(pairs: Iterable[tuple[str, Any]]) -> None:
    """Print ``name  value`` lines, aligned, for one record (a ``Text`` value keeps its style)."""
    pairs = list(pairs)
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        console.print(Text.assemble((printable(name).ljust(width), "bold"), "  ", _cell(value)))


@contextmanager
def row_progress(
    title: str, total: int | None, *, quiet: bool = False, unit: str = "rows"
) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar over rows (a spinner when the total is unknown); yields an updater."""
    if quiet:
        yield lambda _done: None
        return
    from rich.progress import (  # noqa: PLC0415 - only commands that show progress pay for it
        BarColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

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
