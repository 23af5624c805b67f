"""The options of the prediction service, declared once: type, default, bounds and doc each.

``keel serve`` builds its command-line options from these fields, the guard and the service read
them, and the worker processes uvicorn starts receive them through environment variables
generated from the same fields (``to_environ`` / ``from_environ``: one ``KEEL_SERVE_<NAME>`` per
field), because a worker is a separate process that only its environment reaches.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from keel.errors import InvalidInput

Durability = Literal["fsync", "write"]
ENVIRON_PREFIX = "KEEL_SERVE_"


@dataclass(frozen=True)
class Setting:
    """How one option is offered: its flag, help text and bounds (``None``: unbounded)."""

    flag: str
    doc: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] = ()


def _option(default: Any, flag: str, doc: str, **bounds: Any) -> Any:
    return field(default=default, metadata={"setting": Setting(flag, doc, **bounds)})


@dataclass(frozen=True)
class ServeSettings:
    """Every option of ``keel serve``; a field's metadata holds its flag, doc and bounds."""

    host: str = _option("127.0.0.1", "--host", "Address to bind; 0.0.0.0 exposes the service.")
    port: int = _option(8000, "--port", "Port to listen on.", min=1, max=65535)
    workers: int = _option(1, "--workers", "Worker processes.", min=1, max=64)
    max_body_bytes: int = _option(1_048_576, "--max-body-bytes", "Larger bodies get 413.", min=1024)
    request_timeout_seconds: float = _option(
        10.0, "--timeout", "Seconds per request (then 503).", min=0.1
    )
    budget_ms: float = _option(
        250.0, "--budget-ms", "A model slower than this falls back (0: no budget).", min=0.0
    )
    max_inflight: int = _option(
        512, "--max-inflight", "Requests in flight per worker before 503.", min=1
    )
    retry_after_seconds: int = _option(
        1, "--retry-after", "Seconds a 503 asks the client to wait (Retry-After).", min=1
    )
    durability: Durability = _option(  # noqa: RUF009 - a field() with metadata, immutable
        "fsync",
        "--durability",
        "fsync: a power cut loses nothing acknowledged; write: a crash.",
        choices=get_args(Durability),
    )
    poll_seconds: float = _option(1.0, "--poll", "Seconds between release checks.", min=0.05)
    model_threads: int = _option(
        4, "--model-threads", "Threads per worker that run the models.", min=1, max=256
    )
    log_segment_mb: int = _option(
        64,
        "--log-segment-mb",
        "Size of each prediction log file, taken on disk up front (so a full disk shows early).",
        min=1,
        max=4096,
    )
    ship_seconds: float = _option(
        60.0, "--ship", "On an object store: seconds between log parts shipped to it.", min=0.5
    )

    def __post_init__(self) -> None:
        for name, setting, value in self.described():
            if setting.choices and value not in setting.choices:
                raise InvalidInput(f"expected {' or '.join(setting.choices)}", path=name)
            low, high = setting.min, setting.max
            if (low is not None and value < low) or (high is not None and value > high):
                raise InvalidInput(f"{value} is outside {_bounds(setting)}", path=name)

    def described(self) -> Iterator[tuple[str, Setting, Any]]:
        """Each field's name, declaration and value."""
        for found in dataclasses.fields(self):
            yield found.name, setting_of(found), getattr(self, found.name)

    @property
    def budget_seconds(self) -> float | None:
        """The model's time budget in seconds; None when there is none (``budget_ms`` 0)."""
        return self.budget_ms / 1000 if self.budget_ms else None

    def to_environ(self) -> dict[str, str]:
        """The environment variables that carry these settings to a worker process."""
        return {ENVIRON_PREFIX + name.upper(): str(value) for name, _, value in self.described()}

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ServeSettings:
        """The settings a worker was started with; a variable not set keeps its default."""
        values: dict[str, Any] = {}
        for found in dataclasses.fields(cls):
            text = environ.get(ENVIRON_PREFIX + found.name.upper())
            if text is not None:
                values[found.name] = _parse(found, text)
        return cls(**values)


def setting_of(found: dataclasses.Field[Any]) -> Setting:
    declared = found.metadata.get("setting")
    if not isinstance(declared, Setting):  # pragma: no cover - a definition defect
        raise TypeError(f"ServeSettings.{found.name} declares no Setting")
    return declared


def fields() -> tuple[dataclasses.Field[Any], ...]:
    """The declared options, in the order ``keel serve --help`` lists them."""
    return dataclasses.fields(ServeSettings)


def _parse(found: dataclasses.Field[Any], text: str) -> Any:
    kind = type(found.default)
    try:
        return kind(text) if kind in (int, float) else text
    except ValueError:
        raise InvalidInput(
            f"expected {kind.__name__}, got {text!r}", path=ENVIRON_PREFIX + found.name.upper()
        ) from None


def _bounds(setting: Setting) -> str:
    if setting.max is None:
        return f">= {setting.min:g}"
    if setting.min is None:  # pragma: no cover - every bounded field has a minimum
        return f"<= {setting.max:g}"
    return f"{setting.min:g} to {setting.max:g}"
