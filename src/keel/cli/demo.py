"""``keel demo``: the closed loop on the embedded default, end to end, with a summary."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from keel import __version__
from keel.audit.chain import verify_chain
from keel.cli.output import console, print_json, table
from keel.cli.scaffold import scaffold
from keel.config import Settings, load_project
from keel.identity.roles import Role
from keel.identity.service import add_user
from keel.store.sql.schema import upgrade
from keel.wiring import Keel, open_keel


@dataclass
class DemoRun:
    """State the demo steps share, and the lines of the final summary."""

    directory: Path
    keel: Keel | None = None
    summary: list[tuple[str, str]] = field(default_factory=list)

    @property
    def project(self) -> Keel:
        if self.keel is None:
            raise RuntimeError("the project step has not run")  # a demo ordering defect
        return self.keel


def step_project(run: DemoRun) -> str:
    project_file = scaffold(run.directory, "loan")
    project = load_project(project_file)
    run.keel = open_keel(Settings.resolve(run.directory, project), project=project, check=False)
    before, after = upgrade(run.keel.db)
    with run.keel.unit() as unit:
        unit.audit.append(
            actor="local-admin",
            action="project.init",
            subject=f"project:{project.name}",
            details={"example": "loan", "keel_version": __version__},
        )
    return f"project '{project.name}' · schema {before or 'empty'} → {after}"


def step_users(run: DemoRun) -> str:
    keel = run.project
    actor = keel.actor()
    with keel.unit() as unit:
        for name, role in (("ana", Role.OPERATOR), ("omar", Role.APPROVER)):
            add_user(unit, actor, name, role)
    return "ana (operator), omar (approver) · keys shown once, hashes stored"


def step_audit(run: DemoRun) -> str:
    with run.project.reader() as unit:
        report = verify_chain(unit.audit.scan(), unit.audit.head())
    if not report.ok:
        raise RuntimeError(f"audit chain broken: {report.reason}")
    run.summary.append(("audit events", str(report.events)))
    return f"{report.events} events, chain verified · head {report.head_hash[:12]}…"


STEPS: list[tuple[str, Callable[[DemoRun], str]]] = [
    ("scaffold the loan project", step_project),
    ("add users", step_users),
    ("verify the audit trail", step_audit),
]


def demo(
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Folder for the demo project (default: a new temp folder)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Run every step of the closed loop that exists, on a fresh embedded project."""
    folder = (directory or Path(tempfile.mkdtemp(prefix="keel-demo-"))).resolve()
    run = DemoRun(directory=folder)
    results: list[dict[str, Any]] = []
    try:
        with console.status("starting") as spinner:
            for title, step in STEPS:
                spinner.update(title)
                started = time.perf_counter()
                outcome = step(run)
                seconds = time.perf_counter() - started
                results.append({"step": title, "result": outcome, "seconds": round(seconds, 3)})
                if not json:
                    console.print(f"[green]✓[/] {title}: {outcome} [dim]({seconds:.1f} s)[/]")
    finally:
        if run.keel is not None:
            run.keel.close()
    if json:
        print_json({"directory": str(folder), "steps": results, "summary": dict(run.summary)})
        return
    table("Demo summary", ["", ""], [("project folder", str(folder)), *run.summary])
    console.print(f"Explore it: cd {folder} && keel status && keel audit log")
