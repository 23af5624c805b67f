"""The app ``keel server`` runs: the REST API and the dashboard pages over one project."""

from __future__ import annotations

import os
from pathlib import Path

from keel.api import create_api, finish
from keel.api.guard import ASGIApp
from keel.app.control import ControlSettings, warm_up
from keel.app.session import open_project
from keel.ui.pages import add_pages, warm_templates


def from_environment() -> ASGIApp:
    """The app for a uvicorn worker: the project from ``KEEL_PROJECT``, the settings from the
    ``KEEL_SERVER_*`` variables ``ControlPlane.run`` set."""
    settings = ControlSettings.from_environ(os.environ)
    keel = open_project(Path(os.environ["KEEL_PROJECT"]))
    try:
        app = create_api(keel, settings)
        add_pages(app)
        warm_up(keel)  # before uvicorn listens: the first request does not pay for imports
        warm_templates()
        return finish(app, settings)
    except BaseException:
        keel.close()
        raise
