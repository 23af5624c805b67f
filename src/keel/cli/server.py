"""``keel server``: the control plane (REST API and dashboard) over this project."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from keel.cli.context import open_project
from keel.cli.lazy import lazy
from keel.cli.output import console

if TYPE_CHECKING:
    from keel.app import control
else:
    control = lazy("keel.app.control")


def server(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback unless told otherwise).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8700,
    secure_cookies: Annotated[
        bool,
        typer.Option(
            "--secure-cookies", help="Mark the session cookie Secure (behind a TLS proxy)."
        ),
    ] = False,
    session_hours: Annotated[
        float, typer.Option(min=0.05, max=24, help="How long a dashboard login lasts.")
    ] = 8.0,
    max_body_bytes: Annotated[
        int, typer.Option(min=1024, help="Larger request bodies are refused with 413.")
    ] = 1 << 20,
) -> None:
    """Serve the control-plane API and the dashboard (separate from the prediction service)."""
    settings = control.ControlSettings(
        host=host,
        port=port,
        secure_cookies=secure_cookies,
        session_hours=session_hours,
        max_body_bytes=max_body_bytes,
    )
    plane = control.server(open_project(ctx), settings)
    console.print(
        f"Keel control plane for [bold]{plane.project}[/] on {plane.url}"
        f" (dashboard {plane.url}/, API {plane.url}/api/v1, OpenAPI {plane.url}/openapi.json)"
    )
    plane.run()
