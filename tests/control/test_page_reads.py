"""The dashboard's pages never read the prediction log: they show what the monitor, the
registry and the review queue stored. The log's parts are made unreadable, and every page
still answers (a page that scanned the log would fail), so their cost does not grow with the
number of logged predictions (``benchmarks/dashboard.py`` times them on 1M)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import polars as pl
import pytest

from keel.app.session import open_project
from keel.errors import KeelError
from tests.control.conftest import TIMEOUT, Plane, start_plane
from tests.control.test_sessions import login

PAGES = (
    "/",
    "/models",
    "/models/1",
    "/models/compare?a=1&b=2",
    "/releases",
    "/incidents",
    "/incidents/1",
    "/monitoring",
    "/review",
    "/agent",
    "/data",
    "/lineage",
    "/audit",
    "/runs",
)


@pytest.fixture(scope="module")
def unreadable_log(
    template: tuple[Path, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Plane]:
    keys = template[1]
    tmp = tmp_path_factory.mktemp("page-reads")
    for plane in start_plane(template, tmp):
        keel = open_project(plane.folder, api_key=keys["root"])
        try:
            log = keel.prediction_log()
            log.seal()
            root = keel.settings.state_dir / "predictions"
            parts = sorted((root / "parts").glob("*.parquet"))
            assert parts and not list((root / "segments").glob("*.seg"))
            for part in parts:
                part.write_bytes(b"not parquet " * 100)
            with pytest.raises((KeelError, OSError, pl.exceptions.PolarsError)):  # unreadable now
                log.scan().collect()
            log.close()
        finally:
            keel.close()
        yield plane


def test_every_page_answers_without_reading_the_log(unreadable_log: Plane) -> None:
    plane = unreadable_log
    with httpx.Client(base_url=plane.server.url, timeout=TIMEOUT) as client:
        login(plane, "vera", client)
        for path in PAGES:
            answer = client.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
            assert 'id="error"' not in answer.text, (path, answer.text[:2000])
        # the one page that reads the log by design, a prediction's lineage, does fail
        answer = client.get("/lineage?prediction_id=p-1")
        assert answer.status_code >= 400 or 'id="error"' in answer.text
