"""docs/configuration.md is the reference generated from the typed models of keel.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from keel.config import ProjectFile
from keel.config_reference import reference

ROOT = Path(__file__).resolve().parents[2]


def test_the_committed_reference_is_what_the_models_say() -> None:
    committed = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    assert committed == reference(), (
        "docs/configuration.md is out of date: run 'python -m keel.config_reference'"
    )


def test_every_top_level_key_and_nested_key_is_listed() -> None:
    text = reference()
    listed = set(re.findall(r"^\| `([^`]+)` \|", text, re.M))
    assert set(ProjectFile.model_fields) <= listed
    for key in ("model.search.trials", "contract.columns.<name>.type", "storage.database_url"):
        assert key in listed
    assert "| `model.search.trials` | integer (>= 1, <= 10000) | `30` |" in text
