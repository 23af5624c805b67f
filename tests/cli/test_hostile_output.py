"""Data is shown as text: markup, ANSI escapes and control characters never reach the terminal.

A corpus of hostile strings goes in as values, a column name and a source name, then through
every command that prints data. Each must answer without a traceback, send no escape sequence
or control character to the terminal, and show the markup literally.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from keel.cli.output import markup, printable, safe
from tests.cli.conftest import Keel, Result

CORPUS = [
    "[link=http://evil.example]click[/link]",
    ":x:",
    "[bold red]loud[/]",
    "[/]",
    "\x1b[31mred\x1b[0m",
    "\x1b]8;;http://evil.example\x1b\\hyperlink\x1b]8;;\x1b\\",
    "bell\x07back\x08cr\rend",
    "\u202erevo",
    "tail\\",
]
FORBIDDEN = ["\x1b", "\x07", "\x08", "\r", "\u202e", "Traceback", "❌"]


def hostile_csv(project: Path, *, extra_column: str | None = None) -> Path:
    """The sample's first 300 rows, with one corpus string in each of the first rows' purpose."""
    with (project / "data" / "sample.csv").open(newline="") as handle:
        rows = list(csv.DictReader(handle))[:300]
    for row, text in zip(rows, CORPUS, strict=False):
        row["purpose"] = text
    rows[0]["application_id"] = "[/]"
    fields = list(rows[0])
    if extra_column is not None:
        fields.append(extra_column)
        for row in rows:
            row[extra_column] = CORPUS[0]
    path = project / ("hostile_column.csv" if extra_column else "hostile.csv")
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def assert_clean(result: Result, *, codes: tuple[int, ...] = (0,)) -> str:
    shown = result.out + result.err
    assert result.code in codes, shown
    for bad in FORBIDDEN:
        assert bad not in shown, (repr(bad), shown)
    return shown


@pytest.mark.slow
def test_every_command_that_prints_data_shows_it_as_text(keel: Keel, project: Path) -> None:
    source = "[red]producer[/] \x1b[2J"
    accepted = keel("ingest", str(hostile_csv(project)), "--source", source, cwd=project)
    assert_clean(accepted)
    rejected = keel("ingest", str(hostile_csv(project, extra_column="[/]")), cwd=project)
    shown = assert_clean(rejected, codes=(9,))  # refused whole: exit 9 after the report
    assert "column '[/]'" in shown
    batches = keel("quarantine", "list", "--json", cwd=project).json()
    assert len(batches) == 2  # the rejected batch was stored once, and the command ended cleanly
    for batch in batches:
        shown = assert_clean(keel("quarantine", "show", batch["batch_id"], cwd=project))
    shown = assert_clean(keel("quarantine", "show", batches[-1]["batch_id"], cwd=project))
    assert "[link=http://evil.example]click[/link]" in shown
    assert ":x:" in shown and "[bold red]loud[/]" in shown
    assert_clean(keel("quarantine", "list", cwd=project))
    assert_clean(keel("data", "versions", cwd=project))
    assert "[red]producer[/]" in assert_clean(keel("data", "show", "v1", cwd=project))
    assert_clean(keel("contract", "infer", str(hostile_csv(project)), cwd=project))
    assert_clean(keel("data", "show", "v\x1b[31m1", cwd=project), codes=(2,))


@pytest.mark.parametrize("text", CORPUS, ids=[repr(t) for t in CORPUS])
def test_the_helpers_keep_text_as_text(text: str) -> None:
    line = markup("[bold]{}[/] and {:,}", text, 1234)
    assert line.plain.startswith(printable(text))
    assert line.plain.endswith(" and 1,234")
    assert "\x1b" not in safe(text) and "\x07" not in printable(text)
