"""Each incident acts from its moment on and not before, and declarations round-trip."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from keel.errors import InvalidInput
from keel.simulate import (
    REFERENCE_SD,
    SHIFTED_CONCEPT,
    ConceptDrift,
    CovariateDrift,
    Incident,
    LabelDelay,
    NewCategory,
    NullSpike,
    RenamedColumn,
    UnitChange,
    incident_from_dict,
    incident_to_dict,
    simulate,
    simulate_frame,
    true_default_probability,
    withheld_labels,
)

START = datetime(2024, 1, 1)
END = datetime(2025, 1, 1)
AT = datetime(2024, 7, 1)
ROWS = 100_000
SEED = 11


def _run(*incidents: Incident) -> pl.DataFrame:
    return simulate_frame(rows=ROWS, seed=SEED, start=START, end=END, incidents=incidents)


@pytest.fixture(scope="module")
def base() -> pl.DataFrame:
    return _run()


def _before(frame: pl.DataFrame, moment: datetime = AT) -> pl.DataFrame:
    return frame.filter(pl.col("applied_at") < moment)


def _after(frame: pl.DataFrame, moment: datetime = AT) -> pl.DataFrame:
    return frame.filter(pl.col("applied_at") >= moment)


@pytest.mark.parametrize(
    "incident",
    [
        UnitChange(column="income", factor=0.001, at=AT),
        NewCategory(column="purpose", value="solar", share=0.2, at=AT),
        NullSpike(column="debt", rate=0.5, at=AT),
        CovariateDrift(column="age", at=AT, until=END, shift=1.0),
        ConceptDrift(at=AT),
        LabelDelay(delay=END - AT),
    ],
    ids=[
        "unit_change",
        "new_category",
        "null_spike",
        "covariate_drift",
        "concept_drift",
        "label_delay",
    ],
)
def test_rows_before_the_incident_are_untouched(base: pl.DataFrame, incident: Incident) -> None:
    assert _before(_run(incident)).equals(_before(base))


def test_a_fraction_places_the_incident_in_the_window(base: pl.DataFrame) -> None:
    changed = _run(UnitChange(column="income", factor=2.0, at=0.5))
    middle = START + (END - START) / 2
    assert _before(changed, middle).equals(_before(base, middle))
    assert not _after(changed, middle)["income"].equals(_after(base, middle)["income"])


def test_unit_change_scales_the_column_from_its_moment(base: pl.DataFrame) -> None:
    after = _after(_run(UnitChange(column="income", factor=0.001, at=AT)))
    expected = _after(base)["income"] * 0.001
    assert np.allclose(after["income"].to_numpy(), expected.to_numpy())
    assert after.drop("income").equals(_after(base).drop("income"))


def test_renamed_column_changes_the_schema_at_a_forced_chunk_boundary() -> None:
    incident = RenamedColumn(column="income", new_name="annual_income", at=AT)
    chunks = list(
        simulate(rows=ROWS, seed=SEED, start=START, end=END, incidents=[incident], chunk_rows=7_000)
    )
    old = [chunk for chunk in chunks if "income" in chunk.columns]
    new = [chunk for chunk in chunks if "annual_income" in chunk.columns]
    assert len(old) + len(new) == len(chunks)
    assert pl.concat(old)["applied_at"].max() < AT <= pl.concat(new)["applied_at"].min()  # type: ignore[operator]
    assert "income" not in new[0].columns and new[0].columns.index("annual_income") == 2


def test_renamed_column_keeps_the_values(base: pl.DataFrame) -> None:
    renamed = _run(RenamedColumn(column="income", new_name="annual_income", at=AT))
    assert _after(renamed)["annual_income"].equals(_after(base)["income"], check_names=False)
    assert _after(renamed)["income"].null_count() == _after(base).height


def test_new_category_appears_at_its_share(base: pl.DataFrame) -> None:
    after = _after(_run(NewCategory(column="purpose", value="solar", share=0.2, at=AT)))
    assert (after["purpose"] == "solar").mean() == pytest.approx(0.2, abs=0.01)


def test_null_spike_raises_the_null_rate_until_it_ends(base: pl.DataFrame) -> None:
    until = datetime(2024, 10, 1)
    spiked = _run(NullSpike(column="debt", rate=0.5, at=AT, until=until))
    window = _before(_after(spiked), until)
    assert window["debt"].null_count() / window.height == pytest.approx(0.5, abs=0.02)
    assert _after(spiked, until).equals(_after(base, until))


def test_numeric_covariate_drift_ramps_up_to_its_shift(base: pl.DataFrame) -> None:
    until = datetime(2024, 10, 1)
    drifted = _run(CovariateDrift(column="credit_score", at=AT, until=until, shift=-1.0))
    moved = (
        _after(drifted, until)["credit_score"].mean() - _after(base, until)["credit_score"].mean()
    )  # type: ignore[operator]
    halfway = datetime(2024, 8, 15)
    partway = (
        _before(_after(drifted), halfway)["credit_score"].mean()
        - _before(_after(base), halfway)["credit_score"].mean()
    )  # type: ignore[operator]
    assert moved == pytest.approx(-REFERENCE_SD["credit_score"], rel=0.1)
    assert 0.1 * moved > partway > 0.9 * moved


def test_categorical_covariate_drift_moves_the_mix(base: pl.DataFrame) -> None:
    drifted = _run(CovariateDrift(column="channel", at=AT, until=AT, value="broker", share=0.5))
    share = (_after(drifted)["channel"] == "broker").mean()
    expected = 0.5 + 0.5 * (_after(base)["channel"] == "broker").mean()  # type: ignore[operator]
    assert share == pytest.approx(expected, abs=0.01)


def test_covariate_drift_moves_the_labels_with_the_world(base: pl.DataFrame) -> None:
    drifted = _run(CovariateDrift(column="num_delinquencies", at=AT, until=AT, shift=2.0))
    assert _after(drifted)["defaulted"].mean() > _after(base)["defaulted"].mean() + 0.05  # type: ignore[operator]


def test_concept_drift_changes_the_default_rate_of_the_same_inputs(base: pl.DataFrame) -> None:
    after = _after(_run(ConceptDrift(at=AT, concept=SHIFTED_CONCEPT)))
    assert after.drop("defaulted").equals(_after(base).drop("defaulted"))
    shifted = true_default_probability(after, SHIFTED_CONCEPT).mean()
    assert after["defaulted"].mean() == pytest.approx(shifted, abs=0.01)
    assert after["defaulted"].mean() > _after(base)["defaulted"].mean() + 0.03  # type: ignore[operator]


def test_label_delay_withholds_the_newest_labels(base: pl.DataFrame) -> None:
    delayed = _run(LabelDelay(delay=timedelta(days=30)))
    cutoff = END - timedelta(days=30)
    assert _after(delayed, cutoff)["defaulted"].null_count() == _after(base, cutoff).height
    assert _before(delayed, cutoff)["defaulted"].null_count() == 0


def test_withheld_labels_are_emitted_later_keyed_by_id(base: pl.DataFrame) -> None:
    delay = LabelDelay(delay=timedelta(days=30))
    labels = withheld_labels(rows=ROWS, seed=SEED, start=START, end=END, incidents=[delay])
    expected = _after(base, END - timedelta(days=30)).select("application_id", "defaulted")
    assert labels.equals(expected)


def test_no_label_delay_withholds_nothing() -> None:
    assert withheld_labels(rows=1000, seed=1, start=START, end=END).height == 0


def test_incidents_do_not_depend_on_their_order(base: pl.DataFrame) -> None:
    spike = NullSpike(column="region", rate=0.3, at=AT)
    change = NewCategory(column="housing", value="boat", share=0.1, at=AT)
    assert _run(spike, change).equals(_run(change, spike))


ALL = [
    UnitChange(column="debt", factor=1000.0, at=0.25),
    RenamedColumn(column="age", new_name="age_years", at=AT),
    NewCategory(column="region", value="central", share=0.1, at=0.5),
    NullSpike(column="credit_score", rate=0.2, at=0.5, until=0.75),
    CovariateDrift(column="income", at=0.5, until=1.0, shift=0.5),
    ConceptDrift(at=0.6),
    LabelDelay(delay=timedelta(days=45)),
]


@pytest.mark.parametrize("incident", ALL, ids=[incident.kind for incident in ALL])
def test_declarations_round_trip_through_dicts(incident: Incident) -> None:
    body = incident_to_dict(incident)
    assert body["kind"] == incident.kind
    assert incident_from_dict(body) == incident


@pytest.mark.parametrize(
    ("make", "path"),
    [
        (lambda: UnitChange(column="age", factor=2.0), "unit_change.column"),
        (lambda: UnitChange(column="income", factor=0.0), "unit_change.factor"),
        (lambda: UnitChange(column="income", factor=2.0, at=1.5), "unit_change.at"),
        (lambda: RenamedColumn(column="income", new_name="debt"), "renamed_column.new_name"),
        (lambda: NewCategory(column="purpose", value="car", share=0.1), "new_category.value"),
        (lambda: NullSpike(column="application_id", rate=0.1), "null_spike.column"),
        (lambda: CovariateDrift(column="term_months", shift=1.0), "covariate_drift.column"),
        (lambda: CovariateDrift(column="channel", value="fax", share=0.1), "covariate_drift.value"),
        (lambda: LabelDelay(delay=timedelta(0)), "label_delay.delay"),
        (lambda: incident_from_dict({"kind": "meteor"}), "kind"),
        (lambda: incident_from_dict({"kind": "unit_change", "column": "income"}), "unit_change"),
    ],
    ids=[
        "unit-change-int-column",
        "zero-factor",
        "fraction-above-one",
        "rename-onto-existing",
        "known-category",
        "spike-on-entity",
        "drift-on-term",
        "drift-to-unknown-value",
        "zero-delay",
        "unknown-kind",
        "missing-field",
    ],
)
def test_bad_declarations_name_the_field(make: Any, path: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        make()
    assert caught.value.path == path


def test_two_label_delays_are_refused() -> None:
    delays = [LabelDelay(delay=timedelta(days=1)), LabelDelay(delay=timedelta(days=2))]
    with pytest.raises(InvalidInput, match="label_delay"):
        simulate(rows=10, seed=1, start=START, end=END, incidents=delays)
