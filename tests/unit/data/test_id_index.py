"""The id index answers exactly which ids were seen, however many pieces were added."""

from __future__ import annotations

import polars as pl

from keel.data.id_index import IdIndex


def test_seen_returns_exactly_the_repeated_ids() -> None:
    index = IdIndex()
    index.add(pl.Series([f"a-{i}" for i in range(1000)]))
    index.add(pl.Series([f"b-{i}" for i in range(10)]))
    seen = index.seen(pl.Series(["a-5", "zz", "b-9", None, "a-5", "a-1000"]))
    assert sorted(seen.to_list()) == ["a-5", "b-9"]
    assert len(index) == 1010


def test_an_empty_index_has_seen_nothing() -> None:
    assert IdIndex().seen(pl.Series(["x"])).to_list() == []


def test_nulls_are_never_repeats() -> None:
    index = IdIndex()
    index.add(pl.Series([None, "a"], dtype=pl.String))
    assert index.seen(pl.Series([None, None], dtype=pl.String)).to_list() == []


def test_integer_ids_compare_as_text() -> None:
    index = IdIndex()
    index.add(pl.Series([1, 2, 3]))
    assert index.seen(pl.Series([3, 4])).to_list() == ["3"]
