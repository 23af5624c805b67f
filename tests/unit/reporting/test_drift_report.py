"""The HTML drift report: one self-contained page, a plot per drifted column, every statistic."""

from __future__ import annotations

import re

import numpy as np
import polars as pl

from keel.monitoring import detect_drift
from keel.reporting.drift import render_drift_report


def _report_page() -> str:
    rng = np.random.default_rng(0)
    reference = pl.DataFrame(
        {
            "amount": rng.normal(100, 10, 5000),
            "flag": (rng.random(5000) < 0.2).astype(np.int64),
            "kind": rng.choice(["a", "b", "c"], 5000),
            "steady": rng.normal(size=5000),
        }
    )
    current = pl.DataFrame(
        {
            "amount": rng.normal(104, 10, 2000),
            "flag": (rng.random(2000) < 0.4).astype(np.int64),
            "kind": rng.choice(["a", "b", "new"], 2000),
            "steady": rng.normal(size=2000),
        }
    )
    report = detect_drift(reference, current)
    assert report.drifted_columns == ("amount", "flag", "kind")
    return render_drift_report(report, title="t <&> t")


def test_each_drifted_column_gets_its_plot() -> None:
    page = _report_page()
    assert page.count("<svg") == 3
    assert page.count("<polyline") == 2  # amount: reference and current densities
    assert "[0, 1)" in page  # flag: a two-valued number drawn as bars, not densities
    assert "(unseen)" in page  # kind: the new level has its bar


def test_the_table_lists_every_column_and_statistic() -> None:
    page = _report_page()
    table = page[page.index("All statistics") :]
    for name in ("amount", "flag", "kind", "steady", "psi", "js", "wasserstein", "ks", "chi2"):
        assert f">{name}<" in table


def test_the_page_fetches_nothing_and_escapes_text() -> None:
    page = _report_page()
    assert not re.search(r"<script|<link|src=|url\(|@import", page)
    assert "t &lt;&amp;&gt; t" in page
