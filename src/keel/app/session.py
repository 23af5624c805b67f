"""Opening a project for a face: the folder, its keel.yaml, the settings, the backends."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from keel.config import PROJECT_FILE, Settings, load_project
from keel.identity.actor import Actor
from keel.wiring import Keel, open_keel


def open_project(folder: Path, *, check: bool = True, api_key: str | None = None) -> Keel:
    """Open the project in ``folder``; with ``check``, refuse a database at the wrong schema.

    ``api_key`` overrides ``KEEL_API_KEY``: a server acts with the key its caller sent.
    """
    project = load_project(folder / PROJECT_FILE)
    settings = Settings.resolve(folder, project, api_key=api_key)
    return open_keel(settings, project=project, check=check)


def as_caller(keel: Keel, actor: Actor) -> Keel:
    """The opened project acting for ``actor`` (a server's caller): the same backends, so
    nothing is opened per request; never close the returned view, close ``keel``."""
    view = replace(keel, caller=actor)
    view._derived = keel._derived
    return view
