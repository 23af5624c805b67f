"""``keel register``, ``keel models``, ``keel gate``, ``keel approve`` and ``keel release``.

Each command parses its arguments, calls one use case of ``keel.app.registry`` (which checks who
is acting) and prints what it returned.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from keel.cli.context import open_project
from keel.cli.data import JsonFlag
from keel.cli.lazy import lazy
from keel.cli.output import console, field_list, interval, print_json, say, table

if TYPE_CHECKING:
    from keel.app import registry as use
    from keel.registry import versions
    from keel.registry.approvals import Promotion
    from keel.registry.gates import GateResult
    from keel.registry.releases import Release
else:
    use = lazy("keel.app.registry")
    versions = lazy("keel.registry.versions")


if TYPE_CHECKING:
    from keel.models.equivalence import Equivalence

models_app = typer.Typer(help="Registered model versions.", no_args_is_help=True)
release_app = typer.Typer(
    help="Which versions serve: champion, shadow, canary; promote, roll back, pause.",
    no_args_is_help=True,
)

VersionArg = Annotated[str, typer.Argument(help="Model version: 4, v4 or NAME/v4.")]


def register(ctx: typer.Context, run_id: str, json: JsonFlag = False) -> None:
    """Register a succeeded run as a new, immutable model version."""
    registered = use.register(open_project(ctx), run_id)
    if json:
        print_json(registered.to_dict())
        return
    model = registered.model
    verb = "registered" if registered.created else "already registered as"
    say(
        "{}",
        f"run {run_id} {verb} model {model.label} · sha256 {model.model_sha256[:12]}"
        f" · {len(model.signature.fields)} inputs · next: keel gate v{model.version}",
    )
    if registered.inference is not None:
        console.print(f"inference: {_inference(registered.inference)}", markup=False)


@models_app.command("list")
def list_models(ctx: typer.Context, json: JsonFlag = False) -> None:
    """Model versions, newest first, with their role in the current release."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        project, listed = remote_plane.project_name(remote), remote_plane.list_models(remote)
    else:
        keel = open_project(ctx)
        project, listed = keel.project.name, use.list_models(keel)
    if json:
        print_json([entry.to_dict() for entry in listed])
        return
    columns = ["model", "role", "run", "data", "kind", "first metric", "sha256", "registered"]
    table(project, columns, [_model_row(entry) for entry in listed], ids=(0, 2))


def _model_row(entry: use.ListedModel) -> tuple[str, ...]:
    model = entry.model
    first: dict[str, Any] = next(iter(model.benchmarks.values()), {})
    metric = next(iter(first.items()), None)
    return (
        model.label,
        entry.role or "",
        model.run_id,
        f"v{model.data_version}",
        model.kind,
        f"{metric[0]} {metric[1]['value']:.4f}" if metric else "",
        model.model_sha256[:12],
        model.created_at.strftime("%Y-%m-%d %H:%M"),
    )


@models_app.command("show")
def show_model(ctx: typer.Context, version: VersionArg, json: JsonFlag = False) -> None:
    """One model version: lineage, inputs, benchmark results, latest gate result."""
    keel = open_project(ctx)
    detail = use.show_model(keel, versions.parse_version_ref(version, keel.project.name))
    if json:
        print_json(detail.to_dict())
        return
    model, gate = detail.model, detail.gate
    field_list(
        [
            ("model", model.label),
            ("run", model.run_id),
            ("data version", f"v{model.data_version}"),
            ("labels version", f"v{model.labels_version}" if model.labels_version else "none"),
            ("kind", model.kind),
            ("sha256", model.model_sha256),
            ("registered", f"{model.created_at:%Y-%m-%d %H:%M} by {model.actor}"),
            ("inputs", ", ".join(_field(f.to_dict()) for f in model.signature.fields)),
            ("gate", f"{gate.id} {'passed' if gate.passed else 'FAILED'}" if gate else "not gated"),
            ("inference", escape(_inference(detail.inference))),
        ]
    )
    for name, metrics in model.benchmarks.items():
        rows = [(m, f"{e['value']:.4f}", interval(e)) for m, e in metrics.items()]
        table(f"benchmark '{name}'", ["metric", "value", "interval"], rows)


def _inference(verdict: Equivalence | None) -> str:
    """Which back end serves the version, and why."""
    if verdict is None:
        return "native"
    if verdict.passed:
        return f"compiled ({verdict.backend}): {verdict.reason}"
    return f"native: {verdict.reason}"


def gate(ctx: typer.Context, version: VersionArg, json: JsonFlag = False) -> None:
    """Evaluate the release policy for a model version; each check with its evidence."""
    keel = open_project(ctx)
    number = versions.parse_version_ref(version, keel.project.name)
    with console.status(f"gating v{number}", spinner="dots"):
        result = use.gate(keel, number)
    if json:
        print_json(result.to_dict())
    else:
        show_gate(result, keel.project.name)
    if not result.passed:
        raise typer.Exit(1)


def show_gate(result: GateResult, project: str) -> None:
    """The gate table: each check, its threshold, value, interval and verdict."""
    rows = [
        (
            check.name,
            _number(check.value),
            f"[{check.interval[0]:+.4f}, {check.interval[1]:+.4f}]" if check.interval else "",
            "pass" if check.passed else "FAIL",
            check.detail,
        )
        for check in result.checks
    ]
    verdict = "passed" if result.passed else "FAILED"
    table(
        f"{project}/v{result.version} gate {result.id} on '{result.benchmark}': {verdict}",
        ["check", "value", "interval", "", "detail"],
        rows,
        styles=lambda row: None if row[3] == "pass" else "red",
    )


def approve(
    ctx: typer.Context,
    version: VersionArg,
    note: Annotated[str, typer.Option(help="Why you approve, for the audit trail.")] = "",
    json: JsonFlag = False,
) -> None:
    """Approve the pending promotion of a version (an approver other than the requester)."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        number = versions.parse_version_ref(version, remote_plane.project_name(remote))
        _show_promotion(remote_plane.approve(remote, number, note=note), number, json=json)
        return
    keel = open_project(ctx)
    number = versions.parse_version_ref(version, keel.project.name)
    outcome = use.approve(keel, number, note=note)
    _show_promotion(outcome, number, json=json)


@release_app.command("status")
def status(ctx: typer.Context, json: JsonFlag = False) -> None:
    """The current release: champion, shadows, canary, and promotions awaiting approval."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        project, found = remote_plane.project_name(remote), remote_plane.release_status(remote)
    else:
        keel = open_project(ctx)
        project, found = keel.project.name, use.release_status(keel)
    if json:
        print_json(found.to_dict())
        return
    if found.release is None:
        console.print("nothing released yet · next: keel release promote VERSION")
    else:
        _show_release(found.release, project)
    for request in found.pending:
        say(
            "{}",
            f"pending {request.id}: v{request.version} requested by {request.requester},"
            f" needs {request.needed} approval(s) · keel approve v{request.version}",
        )


@release_app.command("history")
def history(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, help="How many, newest first.")] = 20,
    json: JsonFlag = False,
) -> None:
    """Every release change, newest first, with who made it and why."""
    keel = open_project(ctx)
    releases = use.release_history(keel, limit=limit)
    if json:
        print_json([r.to_dict() for r in releases])
        return
    rows = [
        (
            r.id,
            r.action,
            _v(r.state.champion) + (" (paused)" if r.state.paused else ""),
            ", ".join(f"v{v}" for v in r.state.shadow),
            f"v{r.state.canary} {r.state.canary_share:g}%" if r.state.canary else "",
            "keel.yaml" if r.state.policy is None else f"p{r.state.policy}",
            r.actor,
            r.reason or "",
            f"{r.created_at:%Y-%m-%d %H:%M:%S}",
        )
        for r in releases
    ]
    columns = ["release", "action", "champion", "shadow", "canary", "policy", "by", "reason", "at"]
    table(keel.project.name, columns, rows)


@release_app.command("promote")
def promote(
    ctx: typer.Context,
    version: VersionArg,
    override: Annotated[
        str | None,
        typer.Option(help="Admin only: promote past a failed gate, with this written reason."),
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Make a version champion, or open a promotion that waits for the approvals needed."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        number = versions.parse_version_ref(version, remote_plane.project_name(remote))
        done = remote_plane.promote(remote, number, override=override)
        _show_promotion(done, number, json=json)
        return
    keel = open_project(ctx)
    number = versions.parse_version_ref(version, keel.project.name)
    outcome = use.promote(keel, number, override=override)
    _show_promotion(outcome, number, json=json)


@release_app.command("shadow")
def shadow(
    ctx: typer.Context,
    version: VersionArg,
    stop: Annotated[bool, typer.Option("--stop", help="Take the version out of shadow.")] = False,
    json: JsonFlag = False,
) -> None:
    """Score a version on live traffic beside the champion, without returning its answers."""
    keel = open_project(ctx)
    release = use.shadow(keel, versions.parse_version_ref(version, keel.project.name), stop=stop)
    _print_release(release, keel.project.name, json=json)


@release_app.command("canary")
def canary(
    ctx: typer.Context,
    version: VersionArg,
    share: Annotated[
        float, typer.Option(help="Percent of entities it serves, sticky by entity id; 0 stops.")
    ],
    override: Annotated[
        str | None, typer.Option(help="Admin only: past a failed gate, with a written reason.")
    ] = None,
    json: JsonFlag = False,
) -> None:
    """Serve a version to a share of entities (sticky by a hash of the entity id)."""
    keel = open_project(ctx)
    number = versions.parse_version_ref(version, keel.project.name)
    release = use.canary(keel, number, share, override=override)
    _print_release(release, keel.project.name, json=json)


@release_app.command("rollback")
def rollback(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
    json: JsonFlag = False,
) -> None:
    """Undo the last release change: the state before it serves again, in one step."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        done = remote_plane.rollback(remote, reason=reason)
        _print_release(done, remote_plane.project_name(remote), json=json)
        return
    keel = open_project(ctx)
    release = use.rollback(keel, reason=reason)
    _print_release(release, keel.project.name, json=json)


@release_app.command("pause")
def pause(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
    json: JsonFlag = False,
) -> None:
    """Pause the champion: the fallback chain answers every request until someone resumes."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        done = remote_plane.pause(remote, reason=reason)
        _print_release(done, remote_plane.project_name(remote), json=json)
        return
    keel = open_project(ctx)
    release = use.pause(keel, reason=reason)
    _print_release(release, keel.project.name, json=json)


@release_app.command("resume")
def resume(
    ctx: typer.Context,
    reason: Annotated[str | None, typer.Option(help="Why, for the audit trail.")] = None,
    json: JsonFlag = False,
) -> None:
    """Resume a paused champion: the models answer again."""
    if (remote := _remote()) is not None:
        from keel.app import remote as remote_plane  # noqa: PLC0415

        done = remote_plane.pause(remote, reason=reason, paused=False)
        _print_release(done, remote_plane.project_name(remote), json=json)
        return
    keel = open_project(ctx)
    release = use.resume(keel, reason=reason)
    _print_release(release, keel.project.name, json=json)


def _show_promotion(outcome: Promotion, version: int, *, json: bool) -> None:
    if json:
        print_json(outcome.to_dict())
        return
    if outcome.release is not None:
        say(
            "{}",
            f"v{version} is champion · release {outcome.release.id}"
            f" (previous champion {_v(outcome.release.state.previous_champion)})",
        )
        return
    request = outcome.request
    if request is None:  # pragma: no cover - a promotion always returns one or the other
        return
    have = len(outcome.approvals)
    say(
        "{}",
        f"promotion {request.id} of v{version} waits for approval: {have} of {request.needed}"
        f" · an approver other than {request.requester} runs: keel approve v{version}",
    )


def _print_release(release: Release, project: str, *, json: bool) -> None:
    if json:
        print_json(release.to_dict())
    else:
        _show_release(release, project)


def _show_release(release: Release, project: str) -> None:
    state = release.state
    canary = f"v{state.canary} ({state.canary_share:g}%)" if state.canary else "none"
    field_list(
        [
            ("release", f"{release.id} ({_made_by(release)})"),
            ("champion", f"{project}/{_v(state.champion)}"),
            ("shadow", ", ".join(f"v{v}" for v in state.shadow) or "none"),
            ("canary", canary),
            ("previous", _v(state.previous_champion)),
            ("decision policy", "keel.yaml" if state.policy is None else f"p{state.policy}"),
            *(
                [("paused", "yes: the fallback chain answers · keel release resume")]
                if state.paused
                else []
            ),
        ]
    )


def _made_by(release: Release) -> str:
    """Who made a release change: for an approved promotion, who asked and who approved (the
    last approver applies it, but did not request it)."""
    requester = release.details.get("requester")
    approvers = release.details.get("approvers") or []
    if requester and approvers:
        return f"{release.action} requested by {requester}, approved by {', '.join(approvers)}"
    return f"{release.action} by {release.actor}"


def _remote() -> Any:
    """The control plane to call when ``KEEL_URL`` is set (see ``keel.app.remote``)."""
    import os  # noqa: PLC0415

    from keel.app import remote as remote_plane  # noqa: PLC0415

    return remote_plane.remote_from(os.environ)


def _v(version: int | None) -> str:
    return f"v{version}" if version is not None else "none"


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4f}"
    return "" if value is None else str(value)


def _field(body: dict[str, Any]) -> str:
    return str(body["name"]) + ("" if body["required"] else "?")
