"""The ``release:`` section of keel.yaml: the gates a model must pass and who must approve.

```yaml
release:
  benchmark: holdout            # the frozen set the gates read (default: the first one)
  gates:
    - {metric: roc_auc, min: 0.70}
    - {metric: ece, max: 0.03}
    - {non_inferior_to: champion, metric: roc_auc, margin: 0.005, confidence: 0.95}
    - {worst_slice_drop: 0.03, metric: roc_auc, min_rows: 200}
    - {latency_p99_ms: 5}
    - {signature: compatible}
  approvals: 1                  # approvers other than the requester, for a new champion
  baseline: 2                   # optional: the version the service falls back to
```
Artifact integrity is always checked; it is not a policy choice.

A gate is one of five kinds, one model each (a tagged union on ``kind``). Users name the kind by
the key that only it has (``min``/``max``, ``non_inferior_to``, ``worst_slice_drop``,
``latency_p99_ms``, ``signature``) or, equally, with ``kind:``; a gate with none of those keys, with
the keys of two kinds, or with a key its kind does not take is refused with its field path. The
``kind`` is the stable tag a serialized gate carries, so a dumped policy reads back unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WrapValidator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from keel.errors import ConfigError

GateKind = Literal["metric", "non_inferiority", "worst_slice", "latency", "signature"]


class _Gate(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reads_rows: ClassVar[bool] = False
    """Whether the evidence needs the benchmark rows scored (not only the recorded results)."""


class MetricGate(_Gate):
    """An absolute bound on a metric the candidate reported: ``{metric: roc_auc, min: 0.70}``."""

    kind: Literal["metric"] = "metric"
    metric: str = Field(min_length=1)
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _bounded(self) -> MetricGate:
        if self.min is None and self.max is None:
            raise ValueError("a metric gate needs min or max, e.g. {metric: roc_auc, min: 0.70}")
        return self


class NonInferiorityGate(_Gate):
    """The candidate may not be worse than the champion by more than ``margin``, judged on the
    paired bootstrap interval of the improvement on the same frozen rows."""

    reads_rows: ClassVar[bool] = True
    kind: Literal["non_inferiority"] = "non_inferiority"
    non_inferior_to: Literal["champion"] = "champion"
    metric: str = Field(min_length=1)
    margin: float = Field(default=0.0, ge=0.0)
    confidence: float = Field(default=0.95, gt=0.5, lt=1.0)
    resamples: int = Field(default=1000, ge=100, le=100_000)


class WorstSliceGate(_Gate):
    """No slice with ``min_rows`` rows or more may drop by more than ``worst_slice_drop``."""

    reads_rows: ClassVar[bool] = True
    kind: Literal["worst_slice"] = "worst_slice"
    worst_slice_drop: float = Field(ge=0.0)
    metric: str = Field(min_length=1)
    min_rows: int = Field(default=100, ge=1)


class LatencyGate(_Gate):
    """A p99 budget for answering one record through the serving path, in milliseconds."""

    reads_rows: ClassVar[bool] = True
    kind: Literal["latency"] = "latency"
    latency_p99_ms: float = Field(gt=0.0)


class SignatureGate(_Gate):
    """Every request the champion accepts stays valid for the candidate."""

    kind: Literal["signature"] = "signature"
    signature: Literal["compatible"] = "compatible"


_KINDS: dict[str, type[_Gate]] = {
    "metric": MetricGate,
    "non_inferiority": NonInferiorityGate,
    "worst_slice": WorstSliceGate,
    "latency": LatencyGate,
    "signature": SignatureGate,
}
_MARKERS = {
    "min": "metric",
    "max": "metric",
    "non_inferior_to": "non_inferiority",
    "worst_slice_drop": "worst_slice",
    "latency_p99_ms": "latency",
    "signature": "signature",
}
_FORMS = (
    "{metric, min|max}, {non_inferior_to: champion, metric}, {worst_slice_drop, metric},"
    " {latency_p99_ms}, {signature: compatible}"
)


def _gate_kind(value: Mapping[str, Any]) -> type[_Gate]:
    """The model of the gate ``value`` describes, from its ``kind`` or from its keys."""
    if "kind" in value:
        named = value["kind"]
        if not isinstance(named, str) or named not in _KINDS:
            expected = ", ".join(_KINDS)
            raise _invalid([(("kind",), named, f"unknown gate kind; expected one of: {expected}")])
        return _KINDS[named]
    found: dict[str, list[str]] = {}
    for key in value:
        if key in _MARKERS:
            found.setdefault(_MARKERS[key], []).append(str(key))
    if not found:
        raise _invalid([((), dict(value), f"a gate is one of: {_FORMS}")])
    if len(found) > 1:
        mixed = " and ".join(f"{kind} ({', '.join(keys)})" for kind, keys in found.items())
        raise _invalid([((), dict(value), f"a gate has one kind; this one mixes {mixed}")])
    return _KINDS[next(iter(found))]


def _by_kind(value: Any, _handler: ValidatorFunctionWrapHandler) -> _Gate:
    """Validate a gate with the model of its kind directly, so that an error's path reads
    ``gates.2.margin`` (pydantic's own tagged union would insert the tag into the path)."""
    if isinstance(value, _Gate):
        return value
    if not isinstance(value, Mapping):
        raise _invalid([((), value, f"a gate is a mapping, one of: {_FORMS}")])
    model = _gate_kind(value)
    try:
        return model.model_validate(dict(value))
    except ValidationError as exc:
        raise _named_keys(exc, model) from None


def _named_keys(exc: ValidationError, model: type[_Gate]) -> ValidationError:
    """``exc`` with each unknown key explained by the keys the gate's kind takes."""
    kind = model.model_fields["kind"].default
    takes = ", ".join(name for name in model.model_fields if name != "kind")
    problems: list[InitErrorDetails] = []
    for error in exc.errors():
        if error["type"] == "extra_forbidden":
            text = f"unknown field for a {kind} gate, which takes: {takes}"
            problems.append(_detail(error["loc"], error["input"], text))
        else:
            problems.append(
                InitErrorDetails(
                    type=error["type"],
                    loc=error["loc"],
                    input=error["input"],
                    ctx=error.get("ctx", {}),
                )
            )
    return ValidationError.from_exception_data("gate", problems)


def _invalid(problems: list[tuple[tuple[str | int, ...], object, str]]) -> ValidationError:
    return ValidationError.from_exception_data(
        "gate", [_detail(loc, value, text) for loc, value, text in problems]
    )


def _detail(loc: tuple[str | int, ...], value: object, text: str) -> InitErrorDetails:
    return InitErrorDetails(
        type=PydanticCustomError("gate_kind", "{problem}", {"problem": text}), loc=loc, input=value
    )


GateSpec = Annotated[
    Annotated[
        MetricGate | NonInferiorityGate | WorstSliceGate | LatencyGate | SignatureGate,
        Discriminator("kind"),
    ],
    WrapValidator(_by_kind),
]
"""One gate of any kind; ``match`` on its type (or read ``kind``) to tell which."""


class ReleasePolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    benchmark: str | None = None
    gates: list[GateSpec] = Field(default_factory=list)
    approvals: int = Field(default=0, ge=0, le=10)
    latency_rows: int = Field(default=200, ge=10, le=100_000)
    baseline: int | None = Field(default=None, ge=1)
    """A model version (e.g. a logistic regression) the service falls back to."""

    @property
    def reads_rows(self) -> bool:
        """Whether any gate needs the benchmark rows scored."""
        return any(gate.reads_rows for gate in self.gates)


def parse_policy(section: Mapping[str, Any]) -> ReleasePolicy:
    """Validate the release section; every problem is named with its key path."""
    try:
        return ReleasePolicy.model_validate(dict(section))
    except ValidationError as exc:
        problems = [_describe(error) for error in exc.errors()]
        text = "; ".join(f"{path}: {what}" for path, what in problems)
        raise ConfigError(text, path=problems[0][0]) from None


def _describe(error: Mapping[str, Any]) -> tuple[str, str]:
    path = ".".join(["release", *(str(part) for part in error["loc"])])
    if error["type"] == "extra_forbidden":
        return path, "unknown field"
    if error["type"] == "missing":
        return path, "required field is missing"
    return path, str(error["msg"]).removeprefix("Value error, ")
