"""``keel`` answers at once: the root imports a command's module only when that command is used,
and building even the whole command tree imports no heavy library.

Every ``keel`` command imports ``keel.cli.app``, so what that costs is paid by ``keel --version``
as much as by ``keel train``. These tests check what gets imported (not a wall-clock time, which
depends on the machine).
"""

from __future__ import annotations

import json
import subprocess
import sys

from tests.cli.conftest import Keel

HEAVY = (
    "numpy",
    "pandas",
    "polars",
    "pyarrow",
    "scipy",
    "sklearn",
    "lightgbm",
    "optuna",
    "sqlalchemy",
    "alembic",
    "yaml",
    "fastapi",
    "starlette",
    "uvicorn",
    "httpx",
    "jinja2",
    "keel.wiring",
    "keel.config",
    "keel.store",
    "rich.progress",
)

_PROBE = """
import json, sys
import keel.cli.app
if sys.argv[1] == "session":
    import keel.app.monitoring, keel.app.registry, keel.app.session, keel.registry.service
    import keel.monitoring.service
if sys.argv[1] == "help":
    try:
        keel.cli.app.app(sys.argv[2:])
    except SystemExit:
        pass
if sys.argv[1] == "tree":
    import typer.main
    command = typer.main.get_command(keel.cli.app.app)
    ctx = command.make_context("keel", ["--help"], resilient_parsing=True)
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        sub.get_short_help_str(100)
        if hasattr(sub, "list_commands"):
            sub.list_commands(ctx)
print(json.dumps(sorted(sys.modules)))
"""


def _imported(stage: str, *args: str) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, stage, *args], capture_output=True, text=True, check=True
    )
    return set(json.loads(done.stdout.splitlines()[-1]))


def _heavy(modules: set[str]) -> list[str]:
    return sorted(
        name for name in modules if any(name == h or name.startswith(h + ".") for h in HEAVY)
    )


def test_importing_the_cli_imports_no_heavy_library() -> None:
    assert _heavy(_imported("import")) == []


def test_building_the_command_tree_imports_no_heavy_library() -> None:
    modules = _imported("tree")
    assert "keel.cli.train" in modules  # the tree was really built
    assert _heavy(modules) == []


def test_opening_a_project_its_registry_and_monitor_imports_no_model_library() -> None:
    """Listing models, releases or incidents opens the project, the registry or the monitor;
    LightGBM, scikit-learn and SciPy (about 0.9 s) are for commands that train, load or score."""
    modules = _imported("session")
    assert {"keel.registry.service", "keel.monitoring.service"} <= modules
    assert [m for m in ("lightgbm", "sklearn", "scipy") if m in modules] == []


def _command_modules(modules: set[str]) -> set[str]:
    from keel.cli.app import COMMANDS

    return modules & {entry.module for entry in COMMANDS}


def test_the_root_help_imports_no_command_module() -> None:
    assert _command_modules(_imported("help", "--help")) == set()


def test_a_group_imports_its_own_module_only() -> None:
    assert _command_modules(_imported("help", "data", "--help")) == {"keel.cli.data"}


def test_each_listed_summary_is_the_commands_own_help() -> None:
    """``keel --help`` lists the summaries written in ``COMMANDS``; they must not drift from the
    commands' docstrings and help texts, which ``keel COMMAND --help`` shows."""
    from keel.cli.app import COMMANDS
    from keel.cli.tree import load

    for entry in COMMANDS:
        command = load(entry)
        first_paragraph = (command.help or "").split("\n\n")[0]
        assert entry.summary == " ".join(first_paragraph.split()), entry.name
        assert command.name == entry.name


def test_keel_version_and_group_help_answer(keel: Keel) -> None:
    version = keel("--version")
    assert version.code == 0 and version.out.startswith("keel ")
    listed = keel("data", "--help")
    assert listed.code == 0 and "versions" in listed.out


def test_the_cli_default_chunk_size_is_the_use_case_default() -> None:
    from keel.app import data as use
    from keel.cli import data

    assert data.CHUNK_ROWS == use.CHUNK_ROWS


def test_the_cli_incident_kinds_are_the_simulator_kinds() -> None:
    from keel.cli.simulate import DEFAULTS
    from keel.simulate import KINDS

    assert set(DEFAULTS) == set(KINDS)
