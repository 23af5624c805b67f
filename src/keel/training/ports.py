"""Persistence ports of training: runs and frozen benchmark sets."""

from __future__ import annotations

from typing import Protocol

from keel.training.runs import BenchmarkSet, Run


class RunRepo(Protocol):
    def next_id(self, project: str) -> str:
        """A new run id, 'r-0001', 'r-0002', … per project (unique even under concurrency)."""
        ...

    def add(self, run: Run) -> None:
        """Insert a run (normally in status running); raises ``Conflict`` if the id exists."""
        ...

    def finish(self, run: Run) -> None:
        """Store a run's final status, metrics, artifacts and logs; raises ``NotFound``."""
        ...

    def get(self, run_id: str) -> Run:
        """The run; raises ``NotFound``."""
        ...

    def list(self, project: str, *, limit: int = 50) -> list[Run]:
        """Runs newest first."""
        ...


class BenchmarkRepo(Protocol):
    def get(self, project: str, name: str) -> BenchmarkSet | None:
        """The frozen set of this name, or None before its first use."""
        ...

    def add(self, frozen: BenchmarkSet) -> None:
        """Freeze a set; raises ``Conflict`` if the name is taken."""
        ...

    def list(self, project: str) -> list[BenchmarkSet]:
        """Every frozen set of the project, by name."""
        ...
