"""``CostPolicy``: the action of least expected cost, from costs named by outcome and action.

```yaml
decisions:
  costs:
    amount: loan_amount                     # optional: a numeric contract column cells may use
    outcomes: {positive: default, negative: repaid}   # names of the target's two classes
    actions:
      approve: {default: "0.6 * loan_amount", repaid: 0}
      decline: {default: 0, repaid: "0.1 * loan_amount"}
      review: 25                            # one number: the same cost whatever the outcome
```

Each cell is what taking the action costs when the outcome turns out so: a number, or
``"k * column"`` / ``"k * column + c"`` with the declared amount column. Cells are costs, never
negative (write a forgone gain as the cost of the other action). With ``p`` the calibrated
probability of the positive outcome, an action's expected cost is
``p * cost(action, positive) + (1 - p) * cost(action, negative)``, and the policy takes the
least (the first declared on a tie). A flat review cost needs no band typed in: a record goes to
a person exactly when a review costs less than deciding it automatically, which for
``approve``/``decline`` above is when ``min(0.6 p, 0.1 (1 - p)) * amount > 25``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import Field, model_validator

from keel.errors import InvalidInput
from keel.schema import Invalid, Strict

F64 = npt.NDArray[np.float64]
Cell = float | str
_LINEAR = re.compile(
    r"^\s*([0-9.eE+]+)\s*\*\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\+\s*([0-9.eE+]+))?\s*$"
)
_FORMS = "a number, 'k * column' or 'k * column + c' (k, c >= 0)"


class OutcomeNames(Strict):
    positive: str = "positive"
    negative: str = "negative"


class CostsSpec(Strict):
    """``decisions.costs`` as written; ``policy()`` is what decides."""

    amount: str | None = None
    outcomes: OutcomeNames = Field(default_factory=OutcomeNames)
    actions: dict[str, Cell | dict[str, Cell]]

    @model_validator(mode="after")
    def _complete(self) -> CostsSpec:
        self.policy()
        return self

    def policy(self) -> CostPolicy:
        """The validated matrix; a missing pair or a bad cell raises ``Invalid`` at its path."""
        if not self.actions:
            raise Invalid("must name at least two actions and their costs.", at="actions")
        names = (self.outcomes.positive, self.outcomes.negative)
        if names[0] == names[1]:
            raise Invalid("the two outcomes need different names.", at="outcomes")
        rows = [self._row(action, cells, names) for action, cells in self.actions.items()]
        if len(rows) < 2:
            raise Invalid("must name at least two actions to choose between.", at="actions")
        fixed = np.array([[c[0] for c in row] for row in rows], dtype=np.float64)
        scaled = np.array([[c[1] for c in row] for row in rows], dtype=np.float64)
        return CostPolicy(tuple(self.actions), names, fixed, scaled, self.amount)

    def _row(
        self, action: str, cells: Cell | dict[str, Cell], names: tuple[str, str]
    ) -> list[tuple[float, float]]:
        if action == "defer":
            raise Invalid("'defer' is the fallback chain's decision, not an action.", at="actions")
        if not isinstance(cells, dict):
            flat = self._cell(cells, f"actions.{action}")
            return [flat, flat]
        unknown = [name for name in cells if name not in names]
        if unknown:
            raise Invalid(
                f"unknown outcome {unknown[0]!r}; the outcomes are {names[0]!r} and {names[1]!r}"
                " (decisions.costs.outcomes names them).",
                at=f"actions.{action}.{unknown[0]}",
            )
        for name in names:
            if name not in cells:
                raise Invalid(
                    f"the cost of {action!r} when the outcome is {name!r} is missing; every"
                    " action needs a cost for both outcomes (or one number for both).",
                    at=f"actions.{action}.{name}",
                )
        return [self._cell(cells[name], f"actions.{action}.{name}") for name in names]

    def _cell(self, value: Cell, at: str) -> tuple[float, float]:
        """(fixed, per unit of amount) of one cell."""
        if isinstance(value, int | float) and not isinstance(value, bool):
            if not value >= 0:
                raise Invalid(f"costs are never negative; got {value!r}.", at=at)
            return float(value), 0.0
        found = _LINEAR.match(value) if isinstance(value, str) else None
        if found is None:
            raise Invalid(f"must be {_FORMS}; got {value!r}.", at=at)
        column = found.group(2)
        if column != self.amount:
            declared = f"'{self.amount}'" if self.amount else "none is declared"
            raise Invalid(
                f"{value!r} uses column '{column}', but the amount column is {declared};"
                " set decisions.costs.amount to it.",
                at=at,
            )
        try:
            return float(found.group(3) or 0.0), float(found.group(1))
        except ValueError:
            raise Invalid(f"must be {_FORMS}; got {value!r}.", at=at) from None


@dataclass(frozen=True, eq=False)
class CostPolicy:
    """Actions in declared order; ``fixed[a, o] + scaled[a, o] * amount`` is the cost of action
    ``a`` when outcome ``o`` (0 positive, 1 negative) happens."""

    actions: tuple[str, ...]
    outcomes: tuple[str, str]
    fixed: F64
    scaled: F64
    amount: str | None

    def _key(self) -> tuple[Any, ...]:
        cells = (tuple(self.fixed.ravel().tolist()), tuple(self.scaled.ravel().tolist()))
        return (self.actions, self.outcomes, self.amount, *cells)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CostPolicy) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def expected(self, scores: F64, amounts: F64 | None = None) -> F64:
        """Expected cost of each action (columns) for each record (rows)."""
        p = np.asarray(scores, dtype=np.float64)[:, None]
        weights = np.concatenate([p, 1.0 - p], axis=1)  # (n, 2)
        cost = weights @ self.fixed.T
        if self.amount is not None and self.scaled.any():
            if amounts is None:
                raise InvalidInput(
                    f"this cost policy needs each record's '{self.amount}'", path=self.amount
                )
            cost += np.asarray(amounts, dtype=np.float64)[:, None] * (weights @ self.scaled.T)
        return cost

    def indices(self, scores: F64, amounts: F64 | None = None) -> npt.NDArray[np.intp]:
        """Each record's least-cost action (the first declared on a tie)."""
        chosen: npt.NDArray[np.intp] = np.argmin(self.expected(scores, amounts), axis=1)
        return chosen

    def realized(
        self,
        chosen: Sequence[int] | npt.NDArray[np.intp],
        positive: F64,
        amounts: F64 | None = None,
    ) -> F64:
        """What each decision cost once the outcome is known (``positive`` 1 or 0)."""
        index = np.asarray(chosen, dtype=np.intp)
        outcome = np.where(np.asarray(positive) == 1, 0, 1)
        cost = self.fixed[index, outcome]
        if amounts is not None:
            cost = cost + self.scaled[index, outcome] * np.asarray(amounts, dtype=np.float64)
        return cost

    def to_dict(self) -> dict[str, Any]:
        return {
            "amount": self.amount,
            "outcomes": list(self.outcomes),
            "actions": {
                action: {
                    outcome: _shown(self.fixed[a, o], self.scaled[a, o], self.amount)
                    for o, outcome in enumerate(self.outcomes)
                }
                for a, action in enumerate(self.actions)
            },
        }


def _shown(fixed: float, scaled: float, amount: str | None) -> float | str:
    if not scaled:
        return float(fixed)
    text = f"{scaled:g} * {amount}"
    return f"{text} + {fixed:g}" if fixed else text


def amounts_of(records: Sequence[Mapping[str, object]], column: str) -> F64:
    """The amount column of checked records, as floats."""
    return np.array([float(r[column]) for r in records], dtype=np.float64)  # type: ignore[arg-type]
