"""Scenario simulator: a loan-application stream with scripted incidents and a known truth.

Used by the demo, the tests and the benchmarks. Same arguments give the same rows, whatever chunk
size is asked for; memory is bounded by the chunk. See ``incidents`` for what can go wrong.
"""

from keel.simulate.incidents import (
    KINDS,
    At,
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
)
from keel.simulate.loan import (
    CATEGORIES,
    ENTITY,
    FEATURES,
    NULL_RATES,
    RANGES,
    REFERENCE_SD,
    SCHEMA,
    TARGET,
    TIMESTAMP,
)
from keel.simulate.months import simulate_months, write_months
from keel.simulate.plan import BLOCK_ROWS
from keel.simulate.stream import DEFAULT_CHUNK_ROWS, simulate, simulate_frame, withheld_labels
from keel.simulate.truth import BASE_CONCEPT, SHIFTED_CONCEPT, Concept, true_default_probability
from keel.simulate.writer import FORMATS, Progress, write_simulation

__all__ = [
    "BASE_CONCEPT",
    "BLOCK_ROWS",
    "CATEGORIES",
    "DEFAULT_CHUNK_ROWS",
    "ENTITY",
    "FEATURES",
    "FORMATS",
    "KINDS",
    "NULL_RATES",
    "RANGES",
    "REFERENCE_SD",
    "SCHEMA",
    "SHIFTED_CONCEPT",
    "TARGET",
    "TIMESTAMP",
    "At",
    "Concept",
    "ConceptDrift",
    "CovariateDrift",
    "Incident",
    "LabelDelay",
    "NewCategory",
    "NullSpike",
    "Progress",
    "RenamedColumn",
    "UnitChange",
    "incident_from_dict",
    "incident_to_dict",
    "simulate",
    "simulate_frame",
    "simulate_months",
    "true_default_probability",
    "withheld_labels",
    "write_months",
    "write_simulation",
]
