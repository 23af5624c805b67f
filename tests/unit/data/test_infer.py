from __future__ import annotations

import polars as pl
import yaml

from keel.data import ColumnType, Contract, DataSchema, check_rows, infer_contract, render_contract


def _sample() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": ["a-1", "a-2", "a-3", "a-4", "a-5", "a-6"],
            "age": ["30", "41", "", "52", "33", "28"],
            "income": [1500.0, 2000.0, 3100.5, 900.0, 1200.0, 4000.0],
            "region": ["n", "s", "n", "n", "s", "n"],
            "at": [
                "2024-01-01",
                "2024-01-02",
                "2024-01-03",
                "2024-01-04",
                "2024-01-05",
                "2024-01-06",
            ],
            "flag": [True, False, True, None, False, True],
        }
    )


def test_inferred_types() -> None:
    columns = infer_contract(_sample(), entity="id").columns
    kinds = {name: spec.type for name, spec in columns.items()}
    assert kinds == {
        "id": ColumnType.STRING,
        "age": ColumnType.INT,
        "income": ColumnType.FLOAT,
        "region": ColumnType.CATEGORY,
        "at": ColumnType.DATETIME,
        "flag": ColumnType.BOOL,
    }


def test_inferred_checks() -> None:
    columns = infer_contract(_sample(), entity="id").columns
    assert columns["id"].unique
    assert columns["age"].nullable and columns["age"].coerce
    assert columns["region"].values == ("n", "s")
    assert (columns["income"].min, columns["income"].max) == (590.0, 4310.0)


def test_rendered_yaml_round_trips() -> None:
    contract = infer_contract(_sample(), entity="id")
    parsed = Contract.model_validate(yaml.safe_load(render_contract(contract))["contract"])
    assert parsed == contract


def test_sample_passes_its_own_contract() -> None:
    sample = _sample()
    schema = DataSchema(infer_contract(sample, entity="id"), entity="id")
    assert check_rows(sample, schema).rejected.is_empty()
