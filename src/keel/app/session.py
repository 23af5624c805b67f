"""Opening a project for a face: the folder, its keel.yaml, the settings, the backends."""

from __future__ import annotations

from pathlib import Path

from keel.config import PROJECT_FILE, Settings, load_project
from keel.wiring import Keel, open_keel


def open_project(folder: Path, *, check: bool = True, api_key: str | None = None) -> Keel:
    """Open the project in ``folder``; with ``check``, refuse a database at the wrong schema.

    ``api_key`` overrides ``KEEL_API_KEY``: a server acts with the key its caller sent.
    """
    project = load_project(folder / PROJECT_FILE)
    settings = Settings.resolve(folder, project, api_key=api_key)
    return open_keel(settings, project=project, check=check)
