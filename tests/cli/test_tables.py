"""Listings at 80 columns: the ids one types back are printed whole; other columns give way."""

from __future__ import annotations

import os
import subprocess
import sys

MODEL = "loan-default/v12"
RUN = "r-0012"
BATCH = "b-3f9a0c12d4e5"
REPLAY = "b-77e1a0b2c3d4"

_PRINT = f"""
from keel.cli.output import table
table("loan-default", ["model", "role", "run", "data", "kind", "first metric", "sha256", "at"],
      [("{MODEL}", "champion", "{RUN}", "v12", "lightgbm", "roc_auc 0.8123", "0123456789ab",
        "2024-12-04 15:30:12+00:00")])
table("quarantine", ["batch", "status", "quarantined", "rows", "reasons", "replayed by", "source"],
      [("{BATCH}", "partial", "1,234", "100,000", "schema; null_rate", "",
        "/home/someone/a/long/path/to/the/file/applications-2024-06.parquet")])
"""

_MORE = f"""
from keel.cli.output import table
table("replays", ["batch", "status", "replayed by", "source"],
      [("{BATCH}", "replayed", "{REPLAY}", "/home/someone/applications-2024-06.parquet")],
      ids=(0, 2))
table(None, ["{"x" * 70}", "{"y" * 20}"], [("a", "b")], ids=(0, 1))
"""


def _printed(columns: int, script: str = _PRINT) -> list[str]:
    env = {**os.environ, "COLUMNS": str(columns), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.splitlines()


def test_ids_are_never_folded_or_cut_at_80_columns() -> None:
    lines = _printed(80)
    for name in (MODEL, RUN, BATCH):
        assert any(name in line for line in lines), (name, "\n".join(lines))
    assert max(len(line) for line in lines) <= 80  # the other columns gave way


def test_any_column_can_hold_ids() -> None:
    lines = _printed(80, _MORE)
    assert any(BATCH in line and REPLAY in line for line in lines), "\n".join(lines)


def test_a_table_whose_ids_alone_outgrow_the_terminal_is_printed_wider() -> None:
    lines = _printed(80, _MORE)
    assert any("x" * 70 in line and "y" * 20 in line for line in lines)
