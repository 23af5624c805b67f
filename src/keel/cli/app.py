"""The root ``keel`` command: global options, the command groups, and error handling.

Every ``keel`` invocation imports this module and builds the whole command tree, so the tree must
stay cheap to build: ``keel --help`` answers without importing pandas, Polars, NumPy, pydantic,
SQLAlchemy, LightGBM or FastAPI (``tests/cli/test_startup.py`` checks it). In a command module:

- bind the use cases the commands call with ``keel.cli.lazy.lazy`` (the real import under
  ``TYPE_CHECKING``, so that mypy still checks every call)::

      if TYPE_CHECKING:
          from keel.app import data as use
      else:
          use = lazy("keel.app.data")

- import at module level only what the signatures need (Typer reads the annotations and defaults
  when it builds the tree): enums offered as choices live in light modules
  (``keel.monitoring.incidents``, ``keel.decisions.states``, ``keel.identity.roles``), and a
  default is a literal, not an attribute of a lazy module;
- types used only in helpers' annotations go under ``TYPE_CHECKING``;
- a library needed by one command only (Rich progress bars, the web server) is imported inside
  that command.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from keel import __version__
from keel.cli import (
    agent,
    audit,
    check,
    contract,
    data,
    db,
    decisions,
    demo,
    drift,
    gc,
    labels,
    monitor,
    project,
    quarantine,
    registry,
    review,
    serve,
    server,
    simulate,
    train,
    users,
)
from keel.cli.context import options
from keel.cli.errors import exit_code
from keel.cli.output import say
from keel.errors import KeelError

app = typer.Typer(
    name="keel",
    help="Keel: run tabular machine-learning models as operated production systems.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.command()(project.init)
app.command()(project.status)
app.command()(check.check)
app.command()(demo.demo)
app.add_typer(db.app, name="db")
app.command()(gc.gc)
app.add_typer(users.app, name="users")
app.add_typer(audit.app, name="audit")
app.add_typer(contract.app, name="contract")
app.command()(data.ingest)
app.add_typer(data.app, name="data")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(labels.app, name="labels")
app.command()(simulate.simulate)
app.command()(drift.drift)
app.command()(train.train)
app.add_typer(train.app, name="runs")
app.command()(train.reproduce)
app.command()(train.explain)
app.command()(train.tune)
app.command()(registry.register)
app.add_typer(registry.models_app, name="models")
app.command()(registry.gate)
app.command()(registry.approve)
app.add_typer(registry.release_app, name="release")
app.command()(serve.score)
app.command()(serve.serve)
app.command()(server.server)
app.add_typer(serve.predictions_app, name="predictions")
app.command()(serve.lineage)
app.add_typer(monitor.monitor_app, name="monitor")
app.add_typer(monitor.incidents_app, name="incidents")
app.add_typer(agent.app, name="agent")
app.add_typer(review.review_app, name="review")
app.add_typer(decisions.decisions_app, name="decisions")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"keel {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    project_dir: Annotated[
        Path | None,
        typer.Option("--project", "-p", help="Project folder (default: nearest keel.yaml)."),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Keel: run tabular machine-learning models as operated production systems."""
    opts = options(ctx)
    opts.project, opts.debug = project_dir, debug


def main() -> None:
    """Entry point: Keel errors become one line plus a hint and a family exit code."""
    debug = "--debug" in sys.argv or os.environ.get("KEEL_DEBUG") == "1"
    try:
        app()
    except KeelError as error:
        if debug:
            raise
        say("[red]error:[/] {}", error.message, err=True)
        if error.hint:
            say("[dim]hint:[/] {}", error.hint, err=True)
        sys.exit(exit_code(error))
