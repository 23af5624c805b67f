"""Files that cannot make a batch are refused in one line that says why, and nothing is stored."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Keel

INVALID = 2


def test_unusable_files_are_refused_with_what_is_wrong(keel: Keel, project: Path) -> None:
    lines = (project / "data" / "sample.csv").read_bytes().splitlines(keepends=True)
    (project / "header.csv").write_bytes(lines[0])
    broken = lines[6].replace(b",car,", b",caf\xe9,").replace(b",home,", b",h\xf6me,")
    broken = broken.replace(b",other,", b",\xf6ther,").replace(b",business,", b",b\xfcs,")
    broken = broken.replace(b",education,", b",\xe9du,").replace(
        b",debt_consolidation,", b",d\xe9,"
    )
    assert broken != lines[6]
    (project / "latin1.csv").write_bytes(b"".join([*lines[:6], broken, *lines[7:20]]))
    expected = {
        "header.csv": "header.csv has no rows",
        "data": "is a directory, not a file",
        "latin1.csv": "line 7 is not valid UTF-8",
    }
    for name, words in expected.items():
        result = keel("ingest", name, cwd=project)
        assert result.code == INVALID, (name, result.err)
        assert words in result.err, (name, result.err)
        assert "Traceback" not in result.err
    versions = keel("data", "versions", "--json", cwd=project)
    assert versions.code == 0 and versions.json() == [], versions.out


def test_data_versions_say_who_made_each_version(keel: Keel, project: Path) -> None:
    ingested = keel("ingest", "data/sample.csv", "--json", cwd=project)
    assert ingested.code == 0, ingested.err
    listed = keel("data", "versions", cwd=project)
    row = next(line for line in listed.out.splitlines() if "v1" in line)
    assert "local-admin · features from data/sample.csv" in row, listed.out
