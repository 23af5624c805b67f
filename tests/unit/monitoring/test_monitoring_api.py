"""The public surface: ``__all__`` names what the package exports, and every result is JSON."""

from __future__ import annotations

import json

import keel.monitoring
import keel.monitoring.performance


def test_all_names_exist_and_are_unique() -> None:
    for module in (keel.monitoring, keel.monitoring.performance):
        assert len(set(module.__all__)) == len(module.__all__)
        assert all(hasattr(module, name) for name in module.__all__)


def test_statistics_have_stable_tags() -> None:
    tags = {s.tag for s in keel.monitoring.STATISTICS.values()}
    expected = {"psi", "js", "wasserstein", "ks", "chi2"}
    assert tags == {f"keel:drift:{name}" for name in expected}


def test_reports_serialize_to_json() -> None:
    import polars as pl

    frame = pl.DataFrame({"x": [1.0, 2.0, 3.0] * 100, "c": ["a", "b", "c"] * 100})
    report = keel.monitoring.detect_drift(frame, frame)
    json.dumps(report.to_dict(distributions=True))
