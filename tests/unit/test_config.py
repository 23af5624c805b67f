"""The project file and settings."""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pytest
from pydantic import BaseModel

from keel.app.scaffold import EXAMPLES, examples_root
from keel.config import ProjectFile, Settings, find_project_dir, load_project, read_project
from keel.data.contract import Contract
from keel.decisions.policy import DecisionPolicy, DecisionsSpec
from keel.errors import ConfigError
from keel.features.spec import FeatureSpec
from keel.monitoring.monitor import parse_monitoring
from keel.monitoring.spec import MonitorSpec
from keel.registry.policy import ReleasePolicy
from keel.schema import SchemaError
from keel.training.spec import BenchmarkSpec, ModelSpec

MINIMAL = "name: demo\nentity: id\ntarget: {column: y}\n"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "keel.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("example", sorted(EXAMPLES.values()))
def test_shipped_examples_are_valid(example: str) -> None:
    project = load_project(examples_root() / example / "keel.yaml")
    assert project.entity
    assert project.target.column


def test_minimal_file_gets_defaults(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, MINIMAL))
    assert project.target.kind == "binary"
    assert project.timestamp is None


@pytest.mark.parametrize(
    ("text", "path", "expected"),
    [
        (MINIMAL + "timestamp: [1, 2]\n", "timestamp", "valid string"),
        (MINIMAL.replace("{column: y}", "{column: y, kind: ordinal}"), "target.kind", "binary"),
        (MINIMAL + "colour: blue\n", "colour", "unknown field"),
        ("name: demo\ntarget: {column: y}\n", "entity", "required field is missing"),
        (MINIMAL.replace("name: demo", "name: Bad Name"), "name", "pattern"),
    ],
    ids=["wrong-type", "bad-choice", "unknown-field", "missing", "bad-name"],
)
def test_errors_name_the_file_and_field_path(
    tmp_path: Path, text: str, path: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(write(tmp_path, text))
    message = info.value.message
    assert message.startswith(str(tmp_path / "keel.yaml"))
    assert f"{path}:" in message
    assert expected in message
    assert info.value.path == path
    assert "\n" not in message


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object/apply:os.system ['echo pwned']\n",
        "a: &x [1, 2]\nb: [*x, *x]\n",
        "name: demo\n  bad: indentation\n",
    ],
    ids=["python-tag", "alias", "syntax"],
)
def test_unsafe_or_broken_yaml_is_refused(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match=r"keel\.yaml"):
        load_project(write(tmp_path, text))


def test_a_billion_laughs_file_is_refused_quickly(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["lol"]'] + [
        f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)
    ]
    with pytest.raises(ConfigError, match="aliases"):
        load_project(write(tmp_path, "\n".join(lines)))


def test_a_missing_file_says_how_to_create_one(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(tmp_path / "keel.yaml")
    assert info.value.hint and "keel init" in info.value.hint


def test_settings_precedence_argument_env_file_default(tmp_path: Path) -> None:
    project = load_project(
        write(
            tmp_path, MINIMAL + "storage: {database_url: 'sqlite:///file.db', store_url: blobs}\n"
        )
    )
    defaults = Settings.resolve(tmp_path, None, environ={})
    assert defaults.database_url == f"sqlite:///{tmp_path / '.keel' / 'keel.db'}"
    assert defaults.store_url == str(tmp_path / ".keel" / "store")
    from_file = Settings.resolve(tmp_path, project, environ={})
    assert from_file.database_url == "sqlite:///file.db"
    assert from_file.store_url == str(tmp_path / "blobs")
    env = {"KEEL_DATABASE_URL": "sqlite:///env.db", "KEEL_STORE_URL": "memory://x"}
    from_env = Settings.resolve(tmp_path, project, environ=env)
    assert (from_env.database_url, from_env.store_url) == ("sqlite:///env.db", "memory://x")
    explicit = Settings.resolve(tmp_path, project, environ=env, database_url="sqlite:///arg.db")
    assert explicit.database_url == "sqlite:///arg.db"


def test_settings_never_show_the_api_key(tmp_path: Path) -> None:
    settings = Settings.resolve(tmp_path, None, environ={"KEEL_API_KEY": "keel_secret123"})
    assert settings.api_key == "keel_secret123"
    assert "keel_secret123" not in repr(settings)
    assert "keel_secret123" not in str(settings)


def test_project_dir_is_found_upwards(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_project_dir(nested) == tmp_path
    assert find_project_dir(tmp_path.parent) is None or tmp_path.parent != tmp_path


LOAN = (examples_root() / "loan" / "keel.yaml").read_text()


def test_a_typo_in_a_later_section_fails_at_load(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_project(write(tmp_path, MINIMAL + "monitoring: {chunk: {rowz: 500}}\n"))
    assert info.value.path == "monitoring.chunk.rowz"
    assert "monitoring.chunk.rowz: unknown field" in info.value.message


def test_mistakes_in_three_sections_are_reported_together(tmp_path: Path) -> None:
    text = (
        LOAN.replace("chunk: {rows: 500}", "chunk: {rowz: 500}")
        .replace("kind: lightgbm ", "kind: lightgbn ")
        .replace("ood: review", "ood: reveiw")
    )
    with pytest.raises(SchemaError) as info:
        load_project(write(tmp_path, text))
    paths = [problem.path for problem in info.value.problems]
    assert paths == ["model.kind", "decisions.ood", "monitoring.chunk.rowz"]
    assert all(path in info.value.message for path in paths)
    assert "\n" not in info.value.message


def _every_model(model: type[BaseModel], seen: set[type[BaseModel]]) -> set[type[BaseModel]]:
    if model in seen:
        return seen
    seen.add(model)
    for info in model.model_fields.values():
        for found in _models_in(info.annotation):
            _every_model(found, seen)
    return seen


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in get_args(annotation) for m in _models_in(arg)]


def test_every_section_is_typed_and_strict() -> None:
    models = _every_model(ProjectFile, set())
    assert len(models) > 15, models
    for model in models:
        assert model.model_config.get("extra") == "forbid", model
        assert model.model_config.get("frozen") is True, model
    sections = {"contract", "features", "model", "benchmark", "release", "decisions"}
    for name in sections | {"monitoring", "automation", "target", "storage"}:
        assert _models_in(ProjectFile.model_fields[name].annotation), name


def test_sections_are_typed_by_their_packages() -> None:
    project = load_project(examples_root() / "loan" / "keel.yaml")
    assert isinstance(project.monitoring, MonitorSpec)
    assert project.monitoring.chunk.rows == 500
    assert isinstance(project.release, ReleasePolicy) and project.release.approvals == 1
    assert isinstance(project.decisions, DecisionsSpec)
    assert project.decisions.policy().decide(0.5) == "decline"
    assert isinstance(project.model, ModelSpec) and isinstance(project.features, FeatureSpec)
    assert isinstance(project.benchmark, BenchmarkSpec) and isinstance(project.contract, Contract)


def test_the_parsers_of_each_package_take_the_typed_section(tmp_path: Path) -> None:
    project = load_project(examples_root() / "loan" / "keel.yaml")
    assert parse_monitoring(project.monitoring) is project.monitoring
    assert parse_monitoring(project.monitoring.model_dump()) == project.monitoring
    assert FeatureSpec.parse(project.features) is project.features
    assert DecisionPolicy.parse(project.decisions.model_dump()) == project.decisions.policy()


def test_a_section_may_be_left_out(tmp_path: Path) -> None:
    project = load_project(write(tmp_path, MINIMAL + "contract: {}\n"))
    assert project.contract is None
    assert project.monitoring.chunk.period == "1d"


def test_the_timestamp_column_must_be_a_datetime(tmp_path: Path) -> None:
    text = MINIMAL + "timestamp: t\ncontract: {columns: {t: {type: int}}}\n"
    with pytest.raises(ConfigError, match="declared as int") as info:
        load_project(write(tmp_path, text))
    assert info.value.path == "timestamp"


CONTRACT = "columns:\n  id: {type: string}\n  y: {type: int, min: 0, max: 1}\n"


def test_a_contract_file_is_read_and_checked_at_load(tmp_path: Path) -> None:
    (tmp_path / "contract.yaml").write_text(CONTRACT)
    found = read_project(write(tmp_path, MINIMAL + "contract: {file: contract.yaml}\n"))
    assert found.project.contract is not None
    assert set(found.project.contract.columns) == {"id", "y"}
    assert found.files == (tmp_path / "keel.yaml", (tmp_path / "contract.yaml").resolve())


def test_a_contract_file_may_hold_a_contract_key(tmp_path: Path) -> None:
    columns = "{id: {type: string}, y: {type: int}}"
    (tmp_path / "c.yaml").write_text(f"contract:\n  columns: {columns}\n")
    project = load_project(write(tmp_path, MINIMAL + "contract: {file: c.yaml}\n"))
    assert project.contract is not None and list(project.contract.columns) == ["id", "y"]


def test_problems_in_the_contract_file_name_that_file(tmp_path: Path) -> None:
    (tmp_path / "contract.yaml").write_text(CONTRACT.replace("type: int", "type: integer"))
    text = MINIMAL + "contract: {file: contract.yaml}\nmodel: {seed: x}\n"
    with pytest.raises(SchemaError) as info:
        load_project(write(tmp_path, text))
    first, second = info.value.problems
    assert (first.source, first.path) == (str(tmp_path / "keel.yaml"), "model.seed")
    assert second.source == str((tmp_path / "contract.yaml").resolve())
    assert second.path == "contract.columns.y.type"
    assert f"; {second.source}: contract.columns.y.type" in info.value.message


@pytest.mark.parametrize(
    ("reference", "path", "words"),
    [
        ("{file: missing.yaml}", "contract.file", "is not a file inside the project folder"),
        ("{file: ../outside.yaml}", "contract.file", "is not a file inside the project folder"),
        ("{file: c.yaml, columns: {}}", "contract.columns", "unknown field"),
    ],
    ids=["missing", "outside", "extra-key"],
)
def test_a_bad_contract_reference_is_refused(
    tmp_path: Path, reference: str, path: str, words: str
) -> None:
    (tmp_path / "outside.yaml").write_text(CONTRACT)
    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "c.yaml").write_text(CONTRACT)
    with pytest.raises(ConfigError) as info:
        load_project(write(folder, MINIMAL + f"contract: {reference}\n"))
    assert info.value.path == path
    assert words in info.value.message
