"""The root ``keel`` command: global options, the command groups, and error handling.

Every ``keel`` invocation imports this module. The root lists its commands from ``COMMANDS``
(name, module, one-line help) and imports a command's module only when that command runs
(``keel.cli.tree``), so ``keel --help`` imports no command module and ``keel data ...`` imports
``keel.cli.data`` alone. Building even the whole tree imports no pandas, Polars, NumPy, pydantic,
SQLAlchemy, LightGBM or FastAPI (``tests/cli/test_startup.py`` checks both). A new command is one
line in ``COMMANDS``. In a command module:

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
from keel.cli.context import options
from keel.cli.errors import exit_code
from keel.cli.output import say
from keel.cli.tree import Entry, root_class
from keel.errors import KeelError

COMMANDS = (
    Entry(
        "init",
        "keel.cli.project",
        "init",
        "Create a project from an example, with its database migrated and ready.",
    ),
    Entry(
        "status",
        "keel.cli.project",
        "status",
        "Show the project, its store, its database and the audit head.",
    ),
    Entry(
        "check",
        "keel.cli.check",
        "check",
        "Check keel.yaml and its contract file: 'ok', or one line per problem (exit code 2).",
    ),
    Entry(
        "demo",
        "keel.cli.demo",
        "demo",
        "Run every step of the closed loop that exists, on a fresh embedded project.",
    ),
    Entry(
        "gc",
        "keel.cli.gc",
        "gc",
        (
            "List the stored parts and artifacts no version, batch, run, model or log references"
            " (left by interrupted ingests or runs), with their sizes; a dry run unless --yes."
        ),
    ),
    Entry(
        "ingest",
        "keel.cli.data",
        "ingest",
        "Validate a batch against the contract; accepted rows make a new dataset version.",
    ),
    Entry(
        "simulate",
        "keel.cli.simulate",
        "simulate",
        "Write simulated loan applications matching the loan example's contract.",
    ),
    Entry(
        "drift",
        "keel.cli.drift",
        "drift",
        "Which columns of CUR drifted from REF: every statistic against its threshold.",
    ),
    Entry(
        "train",
        "keel.cli.train",
        "train",
        "Train on a dataset version with keel.yaml's recipe; evaluate on the frozen benchmarks.",
    ),
    Entry(
        "reproduce",
        "keel.cli.train",
        "reproduce",
        "Train again from a run's recorded data, recipe and seed; compare the model checksums.",
    ),
    Entry(
        "explain",
        "keel.cli.train",
        "explain",
        "Per-row feature contributions (TreeSHAP for LightGBM, coefficient x value for linear).",
    ),
    Entry(
        "tune",
        "keel.cli.train",
        "tune",
        "Search model.search.space with Optuna; every trial is a run, the best is tagged 'best'.",
    ),
    Entry(
        "register",
        "keel.cli.registry",
        "register",
        "Register a succeeded run as a new, immutable model version.",
    ),
    Entry(
        "gate",
        "keel.cli.registry",
        "gate",
        "Evaluate the release policy for a model version; each check with its evidence.",
    ),
    Entry(
        "approve",
        "keel.cli.registry",
        "approve",
        "Approve the pending promotion of a version (an approver other than the requester).",
    ),
    Entry(
        "score",
        "keel.cli.serve",
        "score",
        "Score a file or a dataset version with the champion (or --model), writing Parquet.",
    ),
    Entry(
        "serve",
        "keel.cli.serve",
        "serve",
        "Serve predictions over HTTP; each worker follows the release and logs every answer.",
    ),
    Entry(
        "server",
        "keel.cli.server",
        "server",
        "Serve the control-plane API and the dashboard (separate from the prediction service).",
    ),
    Entry(
        "lineage",
        "keel.cli.serve",
        "lineage",
        "Trace a prediction: model version → run → dataset version → source batches.",
    ),
    Entry("db", "keel.cli.db", "app", "Create or migrate the metadata database."),
    Entry("users", "keel.cli.users", "app", "Add, list and revoke users and their API keys."),
    Entry("audit", "keel.cli.audit", "app", "Read and verify the audit trail."),
    Entry("contract", "keel.cli.contract", "app", "Work with the data contract."),
    Entry("data", "keel.cli.data", "app", "List, compare and export dataset versions."),
    Entry(
        "quarantine",
        "keel.cli.quarantine",
        "app",
        "Rows held back with their reasons; replay them.",
    ),
    Entry("labels", "keel.cli.labels", "app", "Labels that arrive later than the features."),
    Entry("runs", "keel.cli.train", "app", "List, show and compare training runs."),
    Entry("models", "keel.cli.registry", "models_app", "Registered model versions."),
    Entry(
        "release",
        "keel.cli.registry",
        "release_app",
        "Which versions serve: champion, shadow, canary; promote, roll back, pause.",
    ),
    Entry("predictions", "keel.cli.serve", "predictions_app", "The durable prediction log."),
    Entry(
        "monitor",
        "keel.cli.monitor",
        "monitor_app",
        "Watch the served model: drift, quality, performance, SLOs.",
    ),
    Entry("incidents", "keel.cli.monitor", "incidents_app", "Incidents the monitor opened."),
    Entry(
        "agent",
        "keel.cli.agent",
        "app",
        "The agent: retrain, canary, roll back, pause, review, notify, as keel.yaml allows.",
    ),
    Entry(
        "review",
        "keel.cli.review",
        "review_app",
        "The human review queue: cases routed to a person, and what they decided.",
    ),
    Entry(
        "decisions",
        "keel.cli.decisions",
        "decisions_app",
        "Decision policies: tune, replay, and release them through gate and approval.",
    ),
)
"""The root's commands in the order ``keel --help`` lists them, with their one-line help."""

app = typer.Typer(
    name="keel",
    help="Keel: run tabular machine-learning models as operated production systems.",
    cls=root_class(COMMANDS),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


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
