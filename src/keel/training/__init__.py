"""Training: reproducible runs over pinned data, frozen benchmark sets, model cards, tuning.

Domain code over ports (runs, benchmark sets, dataset versions, row and artifact stores); the
composition root supplies SQL and blob implementations. The service lives in
``keel.training.service``; this package root stays light because the stores import its records.
"""

from keel.training.runs import BenchmarkSet, Environment, Run, RunStatus

__all__ = ["BenchmarkSet", "Environment", "Run", "RunStatus"]
