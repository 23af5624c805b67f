"""The loan-application world: column schema and one block of clean applications.

A block is the unit of randomness: its rows depend only on (seed, block index) and on where the
block sits in the stream, never on how a caller later slices the stream into chunks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import polars as pl

ENTITY = "application_id"
TIMESTAMP = "applied_at"
TARGET = "defaulted"

SCHEMA: Mapping[str, pl.DataType] = MappingProxyType(
    {
        ENTITY: pl.String(),
        TIMESTAMP: pl.Datetime("us"),
        "income": pl.Float64(),
        "age": pl.Int64(),
        "employment_years": pl.Float64(),
        "debt": pl.Float64(),
        "loan_amount": pl.Float64(),
        "term_months": pl.Int64(),
        "interest_rate": pl.Float64(),
        "credit_score": pl.Int64(),
        "num_open_accounts": pl.Int64(),
        "num_delinquencies": pl.Int64(),
        "purpose": pl.String(),
        "region": pl.String(),
        "housing": pl.String(),
        "channel": pl.String(),
        TARGET: pl.Int64(),
    }
)
"""Column names and types of every simulated frame, in output order (the data contract's view)."""

CATEGORIES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "purpose": ("car", "home", "education", "business", "debt_consolidation", "other"),
        "region": ("north", "south", "east", "west"),
        "housing": ("rent", "own", "mortgage"),
        "channel": ("branch", "online", "broker"),
    }
)
"""Allowed values of each categorical column before any ``new_category`` incident."""

RANGES: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        "income": (0.0, 5_000_000.0),
        "age": (18.0, 100.0),
        "employment_years": (0.0, 60.0),
        "debt": (0.0, 50_000_000.0),
        "loan_amount": (500.0, 1_000_000.0),
        "term_months": (12.0, 60.0),
        "interest_rate": (0.0, 0.4),
        "credit_score": (300.0, 850.0),
        "num_open_accounts": (0.0, 50.0),
        "num_delinquencies": (0.0, 20.0),
    }
)
"""Inclusive bounds every numeric feature keeps, also under covariate drift."""

REFERENCE_SD: Mapping[str, float] = MappingProxyType(
    {
        "income": 36_600.0,
        "age": 12.9,
        "employment_years": 8.05,
        "debt": 28_400.0,
        "loan_amount": 88_200.0,
        "interest_rate": 0.0268,
        "credit_score": 60.1,
        "num_open_accounts": 2.28,
        "num_delinquencies": 0.951,
    }
)
"""Standard deviations of the clean world (measured on 1M rows): the unit of covariate drift.

``term_months`` has none: it takes five fixed values, so a shift in sd units has no meaning.
"""

NUMERIC = tuple(RANGES)
FEATURES = (*NUMERIC, *CATEGORIES)
TERMS = (12, 24, 36, 48, 60)
NULL_RATES: Mapping[str, float] = MappingProxyType(
    {"employment_years": 0.03, "credit_score": 0.02, "region": 0.01}
)
"""Share of values missing at random in the clean world."""

_PURPOSE_P = (0.25, 0.15, 0.10, 0.10, 0.30, 0.10)
_PURPOSE_LOAN = np.array([18_000.0, 180_000.0, 25_000.0, 60_000.0, 15_000.0, 8_000.0])
_REGION_P = (0.30, 0.25, 0.20, 0.25)
_CHANNEL_P = (0.35, 0.45, 0.20)
_TERM_P = (0.10, 0.20, 0.35, 0.15, 0.20)
_MEDIAN_INCOME = 45_000.0


@dataclass(frozen=True)
class Placement:
    """Where a block sits: its first row, its size and the stream's time axis in microseconds."""

    first_row: int
    rows: int
    total_rows: int
    start_us: int
    span_us: int
    id_offset: int = 0


def block_rng(seed: int, block: int, stream: int, key: int = 0) -> np.random.Generator:
    """A generator per (seed, block, stream, key): adding an incident never moves the others."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(block, stream, key)))


def event_times(rng: np.random.Generator, place: Placement) -> np.ndarray:
    """Non-decreasing microsecond times in [start, end): row i falls in the i-th equal slot."""
    slots = np.arange(place.first_row, place.first_row + place.rows, dtype=np.float64)
    position = (slots + rng.random(place.rows)) / place.total_rows
    return place.start_us + np.floor(position * place.span_us).astype(np.int64)


def application_ids(first_row: int, rows: int) -> pl.Series:
    """'a-0000000001'-style ids from the global row number (plus the run's id offset), so they
    are unique across the stream."""
    base = 10_000_000_001 + first_row  # the leading '1' keeps the zero padding; it is cut off
    digits = pl.int_range(base, base + rows, dtype=pl.Int64).cast(pl.String).str.slice(1)
    return pl.select(pl.concat_str(pl.lit("a-"), digits).alias(ENTITY)).to_series()


def _choice(rng: np.random.Generator, p: tuple[float, ...], n: int) -> np.ndarray:
    """Category codes drawn with probabilities ``p`` (vectorized inverse-CDF)."""
    u = rng.random(n)
    codes = np.zeros(n, dtype=np.int64)
    for edge in np.cumsum(p)[:-1]:
        codes += u >= edge
    return codes


def _clip_int(values: np.ndarray, column: str) -> np.ndarray:
    low, high = RANGES[column]
    clipped: np.ndarray = np.clip(np.rint(values), low, high)
    return clipped.astype(np.int64)


def _people(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Age, income, employment and housing: who applies.

    Cheap transforms of normals and exponentials stand in for numpy's gamma, beta and poisson,
    which are several times slower per value.
    """
    age = np.minimum(18.0 + np.rint(7.5 * rng.standard_exponential((3, n)).sum(axis=0)), 100.0)
    income_z = 0.6 * rng.standard_normal(n) + 0.2 * np.clip((age - 38.0) / 25.0, -1.0, 1.0)
    income = np.clip(np.round(_MEDIAN_INCOME * np.exp(income_z), 2), *RANGES["income"])
    worked = np.clip(0.4 + 0.25 * rng.standard_normal(n), 0.0, 1.0)  # share of adult life
    p_rent = np.clip(0.75 - 0.015 * (age - 18.0), 0.15, 0.75)
    u = rng.random(n)
    owner = (u >= p_rent).astype(np.int64)  # rent 0, own 1, mortgage 2
    return {
        "age": age,
        "income": income,
        "income_z": income_z,
        "employment_years": np.minimum(np.round((age - 18.0) * worked, 1), 60.0),
        "housing": owner * (1 + (u < p_rent + 0.6 * (1.0 - p_rent))),
    }


def _credit(rng: np.random.Generator, people: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Credit history driven by a hidden risk factor, so features are correlated as in life."""
    n = people["age"].size
    risk = rng.standard_normal(n)
    age_effect = 15.0 * np.clip((people["age"] - 40.0) / 30.0, -1.0, 1.0)
    score = 690.0 + 60.0 * (-0.8 * risk + 0.6 * rng.standard_normal(n)) + age_effect
    # a geometric-like count, mostly 0
    delinquencies = np.floor(rng.standard_exponential(n) * 0.45 * np.exp(0.8 * risk))
    log_ratio = np.log(0.3) + 0.6 * rng.standard_normal(n) + 0.25 * risk
    ratio = np.exp(log_ratio) * np.where(people["housing"] == 2, 1.6, 1.0)
    ratio *= rng.random(n) >= 0.08  # some applicants carry no debt at all
    mean_accounts = 4.0 + 2.0 * people["income_z"]
    accounts = mean_accounts + 2.0 * rng.standard_normal(n)
    return {
        "credit_score": _clip_int(score, "credit_score"),
        "num_open_accounts": _clip_int(accounts, "num_open_accounts"),
        "num_delinquencies": _clip_int(delinquencies, "num_delinquencies"),
        "debt": np.clip(np.round(people["income"] * ratio, 2), *RANGES["debt"]),
    }


def _loans(
    rng: np.random.Generator, people: Mapping[str, np.ndarray], score: np.ndarray
) -> dict[str, np.ndarray]:
    """What is asked for and at what price: amount by purpose and income, rate by score and term."""
    n = score.size
    purpose = _choice(rng, _PURPOSE_P, n)
    log_scale = 0.6 * people["income_z"] + 0.45 * rng.standard_normal(n)
    amount = _PURPOSE_LOAN[purpose] * np.exp(log_scale)
    term = np.asarray(TERMS, dtype=np.int64)[_choice(rng, _TERM_P, n)]
    rate = 0.035 + 0.0004 * np.maximum(760.0 - score, 0.0) + 0.01 * (term - 12) / 12
    rate += 0.01 * rng.standard_normal(n)
    return {
        "purpose": purpose,
        "loan_amount": np.clip(np.round(amount, 2), *RANGES["loan_amount"]),
        "term_months": term,
        "interest_rate": np.clip(np.round(rate, 4), 0.005, RANGES["interest_rate"][1]),
    }


def _categorical(name: str, codes: np.ndarray) -> pl.Series:
    return pl.Series(name, CATEGORIES[name], dtype=pl.String).gather(codes)


def _with_nulls(rng: np.random.Generator, series: pl.Series) -> pl.Series:
    rate = NULL_RATES.get(series.name, 0.0)
    if rate == 0.0:
        return series
    return series.scatter(np.flatnonzero(rng.random(series.len()) < rate), None)


def base_block(seed: int, block: int, place: Placement) -> tuple[pl.DataFrame, np.ndarray]:
    """Clean applications of one block (``defaulted`` still unset) and the uniforms for its labels.

    The label is ``uniform < p``; keeping the uniform apart lets concept drift move ``p`` while
    the same luck applies, so a label changes only where the ground truth does.
    """
    rng = block_rng(seed, block, stream=0)
    times = event_times(rng, place)
    people = _people(rng, place.rows)
    credit = _credit(rng, people)
    loans = _loans(rng, people, credit["credit_score"].astype(np.float64))
    codes = {
        "purpose": loans.pop("purpose"),
        "region": _choice(rng, _REGION_P, place.rows),
        "housing": people.pop("housing"),
        "channel": _choice(rng, _CHANNEL_P, place.rows),
    }
    numbers = {**people, **credit, **loans}
    columns = [application_ids(place.id_offset + place.first_row, place.rows)]
    columns.append(pl.Series(TIMESTAMP, times).cast(pl.Datetime("us")))
    columns += [pl.Series(name, numbers[name]).cast(SCHEMA[name]) for name in NUMERIC]
    columns += [_categorical(name, codes[name]) for name in CATEGORIES]
    columns = [_with_nulls(rng, series) for series in columns]
    frame = pl.DataFrame(columns).with_columns(pl.lit(None, dtype=pl.Int64).alias(TARGET))
    return frame, rng.random(place.rows)
