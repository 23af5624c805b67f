"""A body that is not a JSON object is described in JSON's words (null, a list), never Python's."""

from __future__ import annotations

import pytest

from keel.errors import InvalidInput
from keel.serving.parsing import json_object


@pytest.mark.parametrize(
    ("raw", "said"),
    [(b"null", "got null"), (b"[1]", "got a list"), (b"true", "got true"), (b'"x"', "got 'x'")],
    ids=["null", "list", "true", "string"],
)
def test_a_body_that_is_not_an_object_is_named_in_json_words(raw: bytes, said: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        json_object(raw)
    assert refused.value.message == f"expected a JSON object, {said}"
    assert "NoneType" not in refused.value.message
