"""The model card: both forms carry the lineage, metrics, slices, limitations and plots, and the
page fetches nothing and escapes what the project named."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from keel.reporting.card import ModelCards, render_card
from keel.training.card import Card, CardRenderer
from keel.training.runs import Environment, Run, RunStatus

START = datetime(2024, 5, 1, tzinfo=UTC)


def _estimate(value: float, **extra: object) -> dict[str, object]:
    return {"value": value, "low": value - 0.02, "high": value + 0.02, "n": 1200, **extra}


def _run(**changes: object) -> Run:
    body: dict[str, object] = {
        "id": "r-0007",
        "project": "loan <&>",
        "status": RunStatus.SUCCEEDED,
        "data_version": 3,
        "labels_version": None,
        "seed": 42,
        "params": {"model": {"kind": "lightgbm", "calibration": "isotonic", "params": {"b": 2}}},
        "environment": Environment("abc1234", True, "f" * 64, "3.11.9", "0.9.0"),
        "started_at": START,
        "actor": "ana",
        "finished_at": START + timedelta(seconds=12),
        "model_sha256": "e" * 64,
        "metrics": {
            "benchmarks": {"holdout": {"roc_auc": _estimate(0.8, method="delong")}},
            "slices": {
                "holdout": [
                    {
                        "column": "region",
                        "value": "north",
                        "rows": 300,
                        "metrics": {"roc_auc": {"value": 0.75}},
                    },
                    {"column": "region", "value": "<west>", "rows": 4, "metrics": {}},
                ]
            },
            "calibration": {
                "holdout": {
                    "mean_predicted": [0.1, 0.5, None],
                    "observed_rate": [0.12, 0.4, None],
                    "counts": [10, 20, 0],
                }
            },
            "importance": {"mean_abs_contribution": {"income": 0.5, "age <y>": 0.25}},
        },
    }
    body.update(changes)
    return Run(**body)  # type: ignore[arg-type]


def test_model_cards_is_the_trainers_card_renderer() -> None:
    renderer: CardRenderer = ModelCards()
    card = renderer.render(_run(), ("x",), "loan")
    assert isinstance(card, Card)
    assert card == render_card(_run(), ("x",), "loan")


def test_the_markdown_names_lineage_metrics_slices_and_limitations() -> None:
    text = render_card(_run(), ("Trained on simulated data",), "loan").markdown
    assert "| data | loan v3 |" in text
    assert "| code | abc1234 (dirty) |" in text
    assert "| roc_auc | 0.8000 | [0.7800, 0.8200] | delong | 1200 |" in text
    assert "| region=north | 300 | 0.7500 |" in text and "| region=<west> | 4 | n/a |" in text
    assert "- delong: " in text  # the interval methods used are explained
    assert "- Trained on simulated data" in text
    assert text.endswith("\n")


def test_a_card_without_limitations_says_none_were_declared() -> None:
    card = render_card(_run(), (), "loan")
    assert "- none declared" in card.markdown and "<td>none declared</td>" in card.html


@pytest.mark.parametrize(
    ("estimate", "method"),
    [
        ({"value": 0.8, "n": 5}, "none"),
        ({"value": 0.8, "low": 0.7, "high": 0.9, "n": 5}, "bootstrap"),
    ],
    ids=["no-interval", "recorded-before-methods"],
)
def test_runs_recorded_before_interval_methods_still_render(
    estimate: dict[str, object], method: str
) -> None:
    run = _run(metrics={"benchmarks": {"holdout": {"brier": estimate}}})
    assert "| brier | 0.8000 |" in render_card(run, (), "d").markdown
    assert f" | {method} | 5 |" in render_card(run, (), "d").markdown


def test_the_page_has_both_plots_fetches_nothing_and_escapes_names() -> None:
    page = render_card(_run(), ("a <b> limit",), "loan").html
    assert page.startswith("<!doctype html>") and page.endswith("</body></html>")
    assert page.count("<svg") == 2  # calibration and importance
    assert page.count("<circle") == 2  # the empty bin is not drawn
    assert not re.search(r"<script|<link|src=|url\(|@import", page)
    assert "<title>Model card r-0007</title>" in page
    assert "loan &lt;&amp;&gt; run r-0007" in page
    assert "a &lt;b&gt; limit" in page and "age &lt;y&gt;" in page and "<west>" not in page
