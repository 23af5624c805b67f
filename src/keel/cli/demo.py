"""``keel demo``: the closed loop on the embedded default, end to end, with a summary."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.lazy import lazy
from keel.cli.output import console, print_json, say, table

if TYPE_CHECKING:
    from keel.app import demo as demo_app
    from keel.app.demo import DemoStep
else:
    demo_app = lazy("keel.app.demo")


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder for the demo project (default: a new temp folder)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    keep: Annotated[
        bool,
        typer.Option(
            "--keep/--no-keep",
            help="Keep the demo project to explore afterwards (default), or remove a temp one.",
        ),
    ] = True,
) -> None:
    """Run every step of the closed loop that exists, on a fresh embedded project."""
    folder = (directory or Path(tempfile.mkdtemp(prefix="keel-demo-"))).resolve()
    say("{}", f"demo project folder: {folder}", err=True)

    def done(step: DemoStep) -> None:
        if not json:
            say("[green]✓[/] {}: {} [dim]({:.1f} s)[/]", step.step, step.result, step.seconds)

    with console.status("starting") as spinner:
        summary = demo_app.run_demo(folder, starting=spinner.update, done=done)
    if not keep and directory is None:
        shutil.rmtree(folder, ignore_errors=True)
        say("{}", f"removed the demo project folder {folder} (--no-keep)", err=True)
        if json:
            print_json(summary.to_dict())
        return
    if json:
        print_json(summary.to_dict())
        return
    table("Demo summary", ["", ""], [("project folder", str(folder)), *summary.summary])
    say("{}", f"The project is kept in {folder}; remove it with: rm -rf {folder}")
    say(
        "{}",
        f"Explore it: cd {folder} && export KEEL_API_KEY=$(cat {demo_app.DEMO_KEYS}/ada)"
        " && keel data versions && keel models list && keel release history && keel audit log",
    )
    say(
        "Open its dashboard: {} (then log in at http://127.0.0.1:8700 with a key from {})",
        dict(summary.summary)["dashboard"],
        demo_app.DEMO_KEYS,
    )
