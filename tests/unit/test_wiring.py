"""The objects derived from keel.yaml are built once per opened project."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from keel.app import project as project_plane
from keel.app.session import open_project
from keel.data.contract import ColumnSpec, ColumnType
from keel.errors import ConfigError
from keel.wiring import Keel


@pytest.fixture(scope="module")
def keel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keel]:
    folder: Path = tmp_path_factory.mktemp("wiring") / "proj"
    project_plane.init(folder, "acs")
    opened = open_project(folder)
    try:
        yield opened
    finally:
        opened.close()


def test_derived_objects_are_built_once(keel: Keel) -> None:
    assert keel.data_schema() is keel.data_schema()
    assert keel.labels_schema() is keel.labels_schema()
    assert keel.decision_policy() is keel.decision_policy()
    assert keel.recipe() is keel.recipe()
    assert keel.target() is keel.target()
    assert keel.target().column == keel.project.target.column == keel.data_schema().target
    assert keel.monitor_spec() is keel.project.monitoring
    assert keel.release_policy() is keel.project.release
    assert keel.benchmark_spec() is keel.project.benchmark


def test_a_replaced_project_is_derived_again(keel: Keel) -> None:
    before = keel.data_schema()
    original = keel.project
    assert original.contract is not None
    columns = {**original.contract.columns, "extra": ColumnSpec(type=ColumnType.FLOAT)}
    contract = original.contract.model_copy(update={"columns": columns})
    keel.project = original.model_copy(update={"contract": contract})
    try:
        assert "extra" in keel.data_schema().contract.columns
        assert keel.data_schema() is not before
    finally:
        keel.project = original
    assert "extra" not in keel.data_schema().contract.columns


def test_a_project_without_a_contract_is_refused_when_one_is_needed(keel: Keel) -> None:
    original = keel.project
    keel.project = original.model_copy(update={"contract": None})
    try:
        with pytest.raises(ConfigError, match="the contract section is empty"):
            keel.data_schema()
    finally:
        keel.project = original
