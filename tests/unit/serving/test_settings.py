"""The options of ``keel serve`` are declared once: the command line, the workers' environment
and the service all read ``ServeSettings``."""

from __future__ import annotations

import dataclasses

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from keel.cli.app import app
from keel.errors import InvalidInput
from keel.serving.settings import ENVIRON_PREFIX, ServeSettings, fields, setting_of


def test_every_field_declares_a_flag_and_a_doc() -> None:
    for found in fields():
        setting = setting_of(found)
        assert setting.flag.startswith("--") and setting.doc.endswith("."), found.name


def test_the_command_line_offers_every_field_with_its_default_and_bounds() -> None:
    root = get_command(app)
    command = root.get_command(root.make_context("keel", ["serve"]), "serve")  # type: ignore[attr-defined]
    options = {p.name: p for p in command.params}
    for found in fields():
        option = options[found.name]
        setting = setting_of(found)
        assert option.opts == [setting.flag]
        assert option.default == found.default
        assert getattr(option, "min", None) == setting.min
        assert getattr(option, "max", None) == setting.max


def test_the_workers_environment_carries_every_setting() -> None:
    chosen = ServeSettings(
        workers=3,
        max_body_bytes=4096,
        request_timeout_seconds=2.5,
        budget_ms=0.0,
        retry_after_seconds=9,
        durability="write",
        poll_seconds=0.25,
        model_threads=2,
    )
    environ = chosen.to_environ()
    assert set(environ) == {ENVIRON_PREFIX + f.name.upper() for f in fields()}
    assert ServeSettings.from_environ(environ) == chosen
    assert ServeSettings.from_environ({}) == ServeSettings()


def test_budget_zero_means_no_budget() -> None:
    assert ServeSettings(budget_ms=0).budget_seconds is None
    assert ServeSettings(budget_ms=250).budget_seconds == 0.25


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"durability": "sometimes"}, "durability", "expected fsync or write"),
        ({"max_inflight": 0}, "max_inflight", "0 is outside >= 1"),
        ({"port": 70000}, "port", "70000 is outside 1 to 65535"),
    ],
)
def test_values_outside_the_declaration_are_refused(
    change: dict[str, object], path: str, message: str
) -> None:
    with pytest.raises(InvalidInput, match=message) as refused:
        dataclasses.replace(ServeSettings(), **change)
    assert refused.value.path == path


def test_a_malformed_environment_variable_is_named() -> None:
    with pytest.raises(InvalidInput, match="expected int") as refused:
        ServeSettings.from_environ({ENVIRON_PREFIX + "WORKERS": "many"})
    assert refused.value.path == "KEEL_SERVE_WORKERS"


def test_an_unknown_durability_fails_before_the_project_opens(tmp_path: object) -> None:
    result = CliRunner().invoke(app, ["--project", str(tmp_path), "serve", "--durability", "x"])
    assert isinstance(result.exception, InvalidInput)
    assert result.exception.message == "expected fsync or write"
