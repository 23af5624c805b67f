"""Safe arithmetic for derived features: parsed with ``ast``, never ``eval``.

Allowed: numbers, column names, parentheses, ``+ - * /`` (and unary ``-``/``+``), and the
functions ``log``, ``log1p``, ``abs``, ``min``, ``max`` (``min``/``max`` are element-wise over two
or more arguments). Anything else (attribute access, subscripts, calls to other names, keywords,
comparisons, ``**``) is refused with an ``InvalidInput`` whose path names the expression.

Evaluation works on 1-D float64 arrays and never warns: a division by zero or a log of a
non-positive number gives ``inf``/``NaN``, which the pipeline treats as missing.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from keel.errors import InvalidInput

FloatArray = npt.NDArray[np.float64]
Evaluator = Callable[[Mapping[str, FloatArray]], FloatArray]

MAX_LENGTH = 1000
MAX_DEPTH = 50
"""Deepest allowed nesting: evaluation recurses once per level, so it must stay far from the
interpreter's recursion limit whatever the caller's stack depth."""
_BINARY: dict[type[ast.operator], Callable[[FloatArray, FloatArray], FloatArray]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.divide,
}
_UNARY: dict[type[ast.unaryop], Callable[[FloatArray], FloatArray]] = {
    ast.USub: np.negative,
    ast.UAdd: np.positive,
}
_FUNCTIONS: dict[str, tuple[Callable[..., FloatArray], int]] = {
    # name -> (numpy function, minimum number of arguments)
    "log": (np.log, 1),
    "log1p": (np.log1p, 1),
    "abs": (np.abs, 1),
    "min": (np.minimum, 2),
    "max": (np.maximum, 2),
}


@dataclass(frozen=True)
class Expression:
    """A compiled derived-feature expression."""

    text: str
    columns: tuple[str, ...]
    """Column names the expression reads, in first-use order."""
    _evaluate: Evaluator

    def evaluate(self, columns: Mapping[str, FloatArray]) -> FloatArray:
        """The expression over float64 columns; invalid results are ``inf`` or ``NaN``."""
        with np.errstate(all="ignore"):
            return self.evaluate_ignoring_errors(columns)

    def evaluate_ignoring_errors(self, columns: Mapping[str, FloatArray]) -> FloatArray:
        """``evaluate`` for a caller that holds ``np.errstate(all="ignore")`` around several
        expressions: entering it costs about a microsecond, a record's whole feature budget
        is twenty."""
        return np.asarray(self._evaluate(columns), dtype=np.float64)


def compile_expression(text: str, *, path: str) -> Expression:
    """Parse ``text`` into an ``Expression``; ``path`` (``features.derived.NAME``) names errors."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LENGTH:
        raise _refuse(path, text, f"an expression of 1 to {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError) as exc:
        raise _refuse(path, text, "a valid arithmetic expression") from exc
    if _depth(tree.body) > MAX_DEPTH:
        raise _refuse(path, text, f"an expression nested at most {MAX_DEPTH} levels deep")
    names: list[str] = []
    evaluate = _compile(tree.body, path, text, names)
    return Expression(text=text, columns=tuple(dict.fromkeys(names)), _evaluate=evaluate)


def _depth(root: ast.AST) -> int:
    """Nesting depth of an AST, walked without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def _compile(node: ast.expr, path: str, text: str, names: list[str]) -> Evaluator:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        if isinstance(node.value, bool):
            raise _refuse(path, text, _ALLOWED, got=repr(node.value))
        return _constant(node.value, path, text)
    if isinstance(node, ast.Name):
        if node.id in _FUNCTIONS:
            raise _refuse(path, text, f"'{node.id}' to be called, as in {node.id}(x)")
        name = node.id
        names.append(name)
        return lambda columns: columns[name]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left = _compile(node.left, path, text, names)
        return _binary(_BINARY[type(node.op)], left, _compile(node.right, path, text, names))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _unary(_UNARY[type(node.op)], _compile(node.operand, path, text, names))
    if isinstance(node, ast.Call):
        return _call(node, path, text, names)
    raise _refuse(path, text, _ALLOWED, got=type(node).__name__)


def _call(node: ast.Call, path: str, text: str, names: list[str]) -> Evaluator:
    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
        allowed = f"a call to one of {', '.join(_FUNCTIONS)}"
        raise _refuse(path, text, allowed, got=ast.unparse(node.func))
    function, minimum = _FUNCTIONS[node.func.id]
    if node.keywords or len(node.args) < minimum or (minimum == 1 and len(node.args) != 1):
        count = f"{minimum}{'+' if minimum > 1 else ''}"
        raise _refuse(path, text, f"{node.func.id}() with {count} plain arguments")
    if any(isinstance(arg, ast.Starred) for arg in node.args):
        raise _refuse(path, text, "plain arguments", got="*args")
    args = [_compile(arg, path, text, names) for arg in node.args]
    if minimum == 1:
        return _unary(function, args[0])

    def reduce(columns: Mapping[str, FloatArray]) -> FloatArray:
        result = args[0](columns)
        for arg in args[1:]:
            result = function(result, arg(columns))
        return result

    return reduce


def _constant(value: float, path: str, text: str) -> Evaluator:
    try:
        constant = np.asarray(float(value), dtype=np.float64)
    except OverflowError as exc:
        raise _refuse(path, text, "numbers that fit in a float64") from exc
    return lambda _columns: constant


def _binary(
    op: Callable[[FloatArray, FloatArray], FloatArray], left: Evaluator, right: Evaluator
) -> Evaluator:
    return lambda columns: op(left(columns), right(columns))


def _unary(op: Callable[[FloatArray], FloatArray], operand: Evaluator) -> Evaluator:
    return lambda columns: op(operand(columns))


_ALLOWED = "numbers, column names, parentheses, + - * /, and log, log1p, abs, min, max"


def _refuse(path: str, text: object, allowed: str, *, got: str | None = None) -> InvalidInput:
    found = f" ({got} is not allowed)" if got else ""
    return InvalidInput(
        f"{path}: expected {allowed}; got {text!r}{found}.",
        path=path,
        hint=f"Derived features may use only {_ALLOWED}.",
    )
