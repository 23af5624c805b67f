"""The project file and settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from keel.app.scaffold import EXAMPLES, examples_root
from keel.config import Settings, find_project_dir, load_project
from keel.errors import ConfigError

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
