"""Derived-feature expressions: safe arithmetic, never ``eval``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from keel.errors import InvalidInput
from keel.features import compile_expression

A = np.array([1.0, -2.0, 0.0, math.nan])
B = np.array([2.0, 4.0, 0.0, 1.0])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a + b * 2", [5.0, 6.0, 0.0, math.nan]),
        ("(a - b) / 2", [-0.5, -3.0, 0.0, math.nan]),
        ("-a", [-1.0, 2.0, -0.0, math.nan]),
        ("abs(a) + +1", [2.0, 3.0, 1.0, math.nan]),
        ("max(a, b, 3)", [3.0, 4.0, 3.0, math.nan]),
        ("min(a, b)", [1.0, -2.0, 0.0, math.nan]),
        ("log1p(b)", np.log1p(B).tolist()),
        ("a / 0", [math.inf, -math.inf, math.nan, math.nan]),
        ("log(a)", [0.0, math.nan, -math.inf, math.nan]),
    ],
    ids=["add-mul", "parens-div", "neg", "abs-pos", "max3", "min", "log1p", "div0", "log"],
)
def test_evaluates_without_warnings(text: str, expected: list[float]) -> None:
    expression = compile_expression(text, path="features.derived.f")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = np.broadcast_to(expression.evaluate({"a": A, "b": B}), A.shape)
    np.testing.assert_array_equal(result, expected)


def test_parentheses_do_not_count_as_nesting() -> None:
    expression = compile_expression("(" * 100 + "a" + ")" * 100, path="p")
    np.testing.assert_array_equal(expression.evaluate({"a": A}), A)


def test_columns_are_listed_once_in_first_use_order() -> None:
    assert compile_expression("b / a + b", path="p").columns == ("b", "a")


@pytest.mark.parametrize(
    "text",
    [
        "a ** 2",
        "a < b",
        "a.real",
        "a[0]",
        "__import__('os').system('true')",
        "exp(a)",
        "log(a, 2)",
        "min(a)",
        "max(a, key=b)",
        "min(*a)",
        "log",
        "'text'",
        "True",
        "1j",
        "9" * 400,
        "",
        "a +",
        "lambda: 1",
        "-" * 60 + "a",
    ],
    ids=[
        "power",
        "compare",
        "attribute",
        "subscript",
        "import",
        "unknown-function",
        "log-two-args",
        "min-one-arg",
        "keyword",
        "starred",
        "bare-function",
        "string",
        "bool",
        "complex",
        "huge-int",
        "empty",
        "syntax",
        "lambda",
        "deep",
    ],
)
def test_refuses_anything_but_arithmetic(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        compile_expression(text, path="features.derived.f")
    assert caught.value.path == "features.derived.f"
