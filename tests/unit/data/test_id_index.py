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


def test_many_pieces_of_any_size_answer_as_a_set_does() -> None:
    """Pieces merge as they pile up (a binary counter); the answers stay a set's."""
    import random

    rng = random.Random(7)
    index, added = IdIndex(), set()
    for size in [5, 3, 3, 8, 1, 40, 2, 2, 2, 100, 7, 7, 30, 1, 1, 1]:
        chunk = [f"id-{rng.randrange(400)}" for _ in range(size)]
        asked = [f"id-{rng.randrange(400)}" for _ in range(60)] + chunk[:3]
        assert sorted(index.seen(pl.Series(asked)).to_list()) == sorted(set(asked) & added)
        index.add(pl.Series(chunk))
        added |= set(chunk)
    assert len(index._hashes) <= 5  # merged: 16 pieces, at most about log2(16) + 1 arrays
