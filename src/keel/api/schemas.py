"""Request bodies and path parameters of the control-plane API (their limits are the API's)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
Ident = Annotated[str, Path(pattern=ID_PATTERN, max_length=128)]
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
Note = Annotated[str, Field(max_length=2000)]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class NoteBody(Body):
    note: Note = ""


class ResolveBody(Body):
    note: Annotated[str, Field(min_length=1, max_length=2000)]


class PromoteBody(Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    override: Note | None = None


class ShadowBody(Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    stop: bool = False


class CanaryBody(Body):
    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    share: Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]
    override: Note | None = None


class RollbackBody(Body):
    reason: Note | None = None


class MonitorBody(Body):
    flush: bool = False


class ClaimBody(Body):
    item: Annotated[int | None, Field(ge=1, le=2**31 - 1)] = None
    """The item to claim; none: the most urgent open one."""


class ReviewBody(Body):
    decision: Annotated[str, Field(min_length=1, max_length=100)]
    label: Annotated[float | None, Field(allow_inf_nan=False)] = None
    note: Note = ""


class SyncBody(Body):
    full: bool = False


class PauseBody(Body):
    reason: Note | None = None


class PolicyBody(Body):
    """A decision policy to register: the deciding keys of a ``decisions:`` section."""

    decisions: dict[str, Any] | None = None
    """None: keel.yaml's section as it is on the server."""
    note: Note = ""
