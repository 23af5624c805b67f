"""The app ``keel server`` runs: the REST API and the dashboard pages over one project."""

from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path

from keel.api import create_api, finish
from keel.api.guard import ASGIApp
from keel.app.control import ControlSettings, warm_up
from keel.app.session import open_project
from keel.errors import KeelError
from keel.ui.pages import add_pages, warm_templates
from keel.wiring import Keel


def from_environment() -> ASGIApp:
    """The app for a uvicorn worker: the project from ``KEEL_PROJECT``, the settings from the
    ``KEEL_SERVER_*`` variables ``ControlPlane.run`` set."""
    settings = ControlSettings.from_environ(os.environ)
    keel = open_project(Path(os.environ["KEEL_PROJECT"]))
    try:
        app = create_api(keel, settings)
        add_pages(app)
        threading.Thread(target=_warm, args=(keel,), name="keel-warm-up", daemon=True).start()
        return finish(app, settings)
    except BaseException:
        keel.close()
        raise


def _warm(keel: Keel) -> None:
    """Load the pages' modules and compile the templates while the server starts listening,
    so that the first page does not take seconds; a request that comes sooner waits only for
    what is still loading. A failed warm-up costs nothing but that first request's time."""
    with contextlib.suppress(KeelError, ImportError, OSError):
        warm_up(keel)
        warm_templates()
