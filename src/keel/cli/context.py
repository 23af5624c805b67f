"""What every command needs: the project folder and the opened project."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer

from keel.app.session import open_project as open_folder
from keel.config import find_project_dir
from keel.errors import ConfigError
from keel.wiring import Keel


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
    found = find_project_dir(Path.cwd())
    if found is None:
        raise ConfigError(
            "no keel.yaml here or in any parent folder",
            hint="run 'keel init DIR --example loan' or pass --project DIR",
        )
    return found


def open_project(ctx: typer.Context, *, check: bool = True) -> Keel:
    """Open the project for a command; closed when the command's context ends."""
    keel = open_folder(project_dir(ctx), check=check)
    ctx.call_on_close(keel.close)
    return keel
