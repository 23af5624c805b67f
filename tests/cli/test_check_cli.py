"""``keel check`` and the load-time check of keel.yaml, through the real command."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Keel

THREE_MISTAKES = {
    "chunk: {rows: 500} ": "chunk: {rowz: 500} ",
    "kind: lightgbm ": "kind: lightgbn ",
    "approvals: 1 ": "approvals: -1 ",
}
PATHS = ["model.kind", "release.approvals", "monitoring.chunk.rowz"]  # in file order


def _edit(project: Path, replacements: dict[str, str]) -> Path:
    path = project / "keel.yaml"
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)
    return path


def test_a_typo_in_monitoring_fails_keel_status(keel: Keel, project: Path) -> None:
    path = _edit(project, {"chunk: {rows: 500} ": "chunk: {rowz: 500} "})
    result = keel("status", cwd=project)
    assert result.code == 2
    assert "Traceback" not in result.err
    naming = [line for line in result.err.splitlines() if "monitoring.chunk.rowz" in line]
    assert len(naming) == 1, result.err
    assert str(path) in naming[0] and "unknown field" in naming[0]


def test_three_mistakes_in_three_sections_are_all_named(keel: Keel, project: Path) -> None:
    _edit(project, THREE_MISTAKES)
    status = keel("status", cwd=project)
    assert status.code == 2
    first = status.err.splitlines()[0]
    for path in PATHS:
        assert path in first, status.err


def test_check_says_ok_on_one_line(keel: Keel, project: Path) -> None:
    result = keel("check", cwd=project)
    assert result.code == 0, result.err
    assert result.out.splitlines() == [
        f"ok: {project / 'keel.yaml'} (project loan-default; a contract of 17 columns)"
    ]
    body = keel("check", "--json", cwd=project).json()
    assert body["ok"] is True and body["problems"] == []
    assert body["contract_columns"] == 17 and "monitoring" in body["declared"]


def test_check_prints_one_line_per_problem(keel: Keel, project: Path) -> None:
    path = _edit(project, THREE_MISTAKES)
    result = keel("check", cwd=project)
    assert result.code == 2
    assert result.out == ""
    lines = result.err.splitlines()
    assert len(lines) == 3, lines
    assert all(line.startswith(f"error: {path}: ") for line in lines)
    assert [line.split(": ")[2] for line in lines] == PATHS
    body = keel("check", "--json", cwd=project)
    assert body.code == 2
    problems = body.json()["problems"]
    assert [p["path"] for p in problems] == PATHS
    assert problems[0] == {
        "source": str(path),
        "path": "model.kind",
        "expected": "input should be 'lightgbm', 'logistic' or 'linear'",
        "got": "'lightgbn'",
    }


def test_check_reads_the_contract_file_keel_yaml_names(keel: Keel, project: Path) -> None:
    path = project / "keel.yaml"
    text = path.read_text()
    start, end = text.index("contract:\n"), text.index("features:\n")
    contract = text[start:end].replace("type: int, min: 18", "type: integer, min: 18")
    (project / "contract.yaml").write_text(contract)
    path.write_text(text[:start] + "contract: {file: contract.yaml}\n\n" + text[end:])
    result = keel("check", cwd=project)
    assert result.code == 2
    [line] = result.err.splitlines()
    assert line.startswith(f"error: {project / 'contract.yaml'}: contract.columns.age.type: ")
    (project / "contract.yaml").write_text(contract.replace("integer", "int"))
    fixed = keel("check", cwd=project)
    assert fixed.code == 0, fixed.err
    assert f"{path} and {project / 'contract.yaml'}" in fixed.out
    assert keel("status", cwd=project).code == 0
