"""``keel gc`` lists the blobs no record references (a dry run), deletes them with --yes (audited),
and never touches what a version, batch or run references, nor blobs young enough to be in use."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import Keel


@pytest.mark.slow
def test_gc_lists_then_deletes_only_unreferenced_blobs(keel: Keel, project: Path) -> None:
    assert keel("ingest", "data/sample.csv", cwd=project).code == 0
    header = (project / "data" / "sample.csv").read_text().splitlines()[0]
    (project / "empty.csv").write_text(header + "\n")
    assert keel("ingest", "empty.csv", cwd=project).code == 2  # refused after writing its part
    blobs = project / ".keel" / "store" / "sha256"
    before = sorted(p.name for p in blobs.rglob("*") if p.is_file())

    young = keel("gc", "--json", cwd=project).json()
    assert young["garbage"] == [] and young["young"] >= 1  # within the default hour

    dry = keel("gc", "--min-age-hours", "0", "--json", cwd=project).json()
    assert len(dry["garbage"]) >= 1 and dry["deleted"] is False
    orphans = {item["digest"] for item in dry["garbage"]}
    assert all(item["size_bytes"] > 0 for item in dry["garbage"])
    assert sorted(p.name for p in blobs.rglob("*") if p.is_file()) == before  # nothing deleted

    done = keel("gc", "--min-age-hours", "0", "--yes", cwd=project)
    assert done.code == 0 and "deleted" in done.out, done.err
    after = {p.name for p in blobs.rglob("*") if p.is_file()}
    assert after == set(before) - orphans
    assert keel("data", "show", "v1", cwd=project).code == 0  # the version's parts are intact
    again = keel("gc", "--min-age-hours", "0", "--json", cwd=project).json()
    assert again["garbage"] == []
    assert "store.gc" in keel("audit", "log", cwd=project).out
