"""Mistakes that used to pass every check until ``keel train`` are refused when keel.yaml is
read: by ``keel check``, and by every command that opens the project."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.app.check import check_project
from keel.app.scaffold import examples_root
from keel.config import load_project
from keel.schema import SchemaError


def _loan(tmp_path: Path, old: str, new: str) -> Path:
    text = (examples_root() / "loan" / "keel.yaml").read_text()
    assert old in text
    (tmp_path / "keel.yaml").write_text(text.replace(old, new, 1))
    return tmp_path


@pytest.mark.parametrize(
    ("old", "new", "path", "words"),
    [
        (
            "target: {column: defaulted",
            "target: {column: defautled",
            "target.column",
            "did you mean 'defaulted'?",
        ),
        ("num_leaves: 31,", "num_leafs: 31,", "model.params", "'num_leafs'"),
        ("space: {num_leaves:", "space: {num_leavs:", "model.search.space", "'num_leavs'"),
    ],
    ids=["target-not-a-column", "unknown-model-param", "unknown-search-param"],
)
def test_refused_when_the_file_is_read(
    tmp_path: Path, old: str, new: str, path: str, words: str
) -> None:
    folder = _loan(tmp_path, old, new)
    with pytest.raises(SchemaError) as opened:
        load_project(folder / "keel.yaml")
    assert opened.value.path == path
    assert words in opened.value.message
    checked = check_project(folder)
    assert not checked.ok
    assert [p.path for p in checked.problems] == [path]


def test_an_override_trigger_by_segment_needs_segments(tmp_path: Path) -> None:
    """No decisions.segments and no benchmark slices: nothing to break the reviews down by."""
    folder = _loan(tmp_path, "  slices: [region, purpose]\n", "")
    trigger = "{when: override_rate, above: 0.1, by_segment: true, do: retrain}"
    with (folder / "keel.yaml").open("a") as file:
        file.write(f"\nautomation:\n  triggers:\n    - {trigger}\n")
    with pytest.raises(SchemaError) as opened:
        load_project(folder / "keel.yaml")
    assert opened.value.path == "automation.triggers.0.by_segment"
    assert "decisions.segments.column" in opened.value.message
