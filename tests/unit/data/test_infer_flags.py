"""``keel contract infer`` keeps a 0/1 column's bounds exact."""

from __future__ import annotations

import polars as pl

from keel.data.infer import infer_contract


def test_a_zero_one_column_is_inferred_as_min_0_max_1() -> None:
    frame = pl.DataFrame({"defaulted": [0, 1, 0, 0, 1, 0, 1, 0], "amount": list(range(8))})
    column = infer_contract(frame).columns["defaulted"]
    assert (column.min, column.max) == (0, 1)
