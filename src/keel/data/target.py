"""The one rule for what counts as the positive class of a binary target.

Training, the release gates, monitoring's reference and realized performance, ``keel labels
ingest`` (label-rate shift) and the outcomes API all ask :func:`is_positive` (or
:func:`binary_label` for one value arriving over the API), so a label means the same thing
whichever way it arrives: a CSV cell (text), a Parquet column (int, float, bool), a JSON value.

The rule: a label is positive when its **token** equals the token of ``target.positive``. A
value's token is its text, with

- surrounding whitespace removed and letters lower-cased (``" Yes"``, ``"YES"`` and ``"yes"``
  are one class: producers differ in case, and no binary target tells classes apart by case);
- booleans and their text written as ``1`` and ``0`` (``True``, ``"true"``, ``1`` are one
  token: a Parquet bool column, a JSON ``true`` and a CSV ``1`` say the same thing);
- whole floats written as integers (``1.0`` is ``1``: a label column with a null in it is often
  read as floats).

Anything else is compared as written: with ``positive: 0`` the value 0 is positive and 1 is not;
with ``positive: 2`` only 2 is positive. Nulls stay null (no label yet).
"""

from __future__ import annotations

import polars as pl

from keel.errors import InvalidInput

_BOOLEAN_TOKENS = {"true": "1", "false": "0"}


def label_token(value: object) -> str:
    """The token of one label value (see the module docstring)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    text = str(value).strip().lower()
    return _BOOLEAN_TOKENS.get(text, text)


def label_tokens(values: pl.Series) -> pl.Series:
    """The token of every value of ``values``, as a String series (nulls stay null)."""
    if values.dtype == pl.Boolean:
        return values.cast(pl.Int8).cast(pl.String)
    if values.dtype.is_float():
        column = pl.col(values.name)
        whole = column.is_finite() & (column == column.round(0))
        token = pl.when(whole).then(column.cast(pl.Int64).cast(pl.String))
        return values.to_frame().select(token.otherwise(column.cast(pl.String))).to_series()
    text = values.cast(pl.String).str.strip_chars().str.to_lowercase()
    return text.replace(_BOOLEAN_TOKENS)


def is_positive(values: pl.Series, positive: object) -> pl.Series:
    """True where a value is the positive class, False where not, null where no label."""
    return (label_tokens(values) == label_token(positive)).alias(values.name)


def binary_label(value: object, positive: object, *, path: str) -> float:
    """One label sent over the API as 1.0 (positive) or 0.0, by the same rule as the files.

    With a 0/1 target (``positive`` is 0, 1 or a boolean) only 0, 1 and booleans are labels.
    With a text target (``positive: "yes"``) a number or boolean is refused rather than read:
    an old client sending 1 for "yes" would otherwise invert the realized performance.
    """
    wanted = label_token(positive)
    readable = isinstance(value, str | int | float)
    if wanted in ("0", "1"):
        if not readable or label_token(value) not in ("0", "1"):
            raise InvalidInput(f"expected 0 or 1, got {value!r}", path=path)
    elif not readable or (not isinstance(value, str) and not _numeric(wanted)):
        raise InvalidInput(
            f"expected a value of the target such as {positive!r}, got {value!r}", path=path
        )
    return 1.0 if label_token(value) == wanted else 0.0


def _numeric(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True
