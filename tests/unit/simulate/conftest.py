"""Shared windows and frames for the simulator tests."""

from __future__ import annotations

from datetime import datetime

import polars as pl
import pytest

from keel.simulate import simulate_frame

START = datetime(2024, 1, 1)
END = datetime(2025, 1, 1)


@pytest.fixture(scope="session")
def clean() -> pl.DataFrame:
    """200k rows of the clean world: enough for rates and AUCs to within about a point."""
    return simulate_frame(rows=200_000, seed=7, start=START, end=END)
