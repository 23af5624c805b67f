"""What the registry's services read and write in one transaction, and how they open one.

Every verb that changes something runs in one write transaction with its audit event, so a
change and the record of who made it commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Protocol

from keel.audit.ports import AuditLog
from keel.registry.ports import GateRepo, ModelRepo, PromotionRepo, ReleaseRepo
from keel.training.ports import BenchmarkRepo, RunRepo


class RegistryUnit(Protocol):
    @property
    def runs(self) -> RunRepo: ...

    @property
    def benchmarks(self) -> BenchmarkRepo: ...

    @property
    def models(self) -> ModelRepo: ...

    @property
    def gates(self) -> GateRepo: ...

    @property
    def releases(self) -> ReleaseRepo: ...

    @property
    def promotions(self) -> PromotionRepo: ...

    @property
    def audit(self) -> AuditLog: ...


UnitFactory = Callable[[], AbstractContextManager[RegistryUnit]]
