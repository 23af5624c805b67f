"""What every command needs: the project folder and the opened project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from keel.cli.lazy import lazy
from keel.errors import ConfigError

if TYPE_CHECKING:
    from keel import config
    from keel.app import session
    from keel.wiring import Keel
else:
    session = lazy("keel.app.session")
    config = lazy("keel.config")


@dataclass
class Options:
    """Global options from the command line, stored on the Typer context."""

    project: Path | None = None
    debug: bool = False


def options(ctx: typer.Context) -> Options:
    root = ctx.find_root()
    if not isinstance(root.obj, Options):
        root.obj = Options()
    return root.obj


def project_dir(ctx: typer.Context) -> Path:
    """``--project``, else ``KEEL_PROJECT``, else the nearest keel.yaml at or above the cwd."""
    explicit = options(ctx).project or (Path(p) if (p := os.environ.get("KEEL_PROJECT")) else None)
    if explicit is not None:
        return explicit.resolve()
    found = config.find_project_dir(Path.cwd())
    if found is None:
        raise ConfigError(
            "no keel.yaml here or in any parent folder",
            hint="run 'keel init DIR --example loan' or pass --project DIR",
        )
    return found


def open_project(ctx: typer.Context, *, check: bool = True) -> Keel:
    """Open the project for a command; closed when the command's context ends."""
    keel = session.open_project(project_dir(ctx), check=check)
    ctx.call_on_close(keel.close)
    return keel
