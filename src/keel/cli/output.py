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
from collections.abc import Callable, Iterable, Iterator, Sequence
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


def table(
    title: str | None,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    styles: Callable[[Sequence[Any]], str | None] | None = None,
) -> None:
    """Print rows as a Rich table with a header; a cell too wide for the terminal folds onto
    the next line, never cut (names are copied from here)."""
    grid = Table(
        title=None if title is None else _cell(title), title_justify="left", header_style="bold"
    )
    for column in columns:
        grid.add_column(_cell(column), overflow="fold")
    for row in rows:
        grid.add_row(*(_cell(cell) for cell in row), style=styles(row) if styles else None)
    console.print(grid)


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
