"""Every error family maps to an HTTP status and a CLI exit code, and every exception class
anywhere in ``keel`` (private ones included) belongs to a family."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import keel
from keel import errors
from keel.cli.errors import EXIT_CODES, exit_code
from keel.serving.http_status import HTTP_STATUS, http_status

NOT_IMPORTED = {"keel.__main__"}  # importing it runs the command line


def _every_exception_class() -> dict[str, type[BaseException]]:
    """Every exception class defined in any module of the package, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(keel.__path__, "keel."):
        if info.name in NOT_IMPORTED:
            continue
        module = importlib.import_module(info.name)
        for _, value in inspect.getmembers(module, inspect.isclass):
            if issubclass(value, BaseException) and value.__module__ == module.__name__:
                found[f"{value.__module__}.{value.__qualname__}"] = value
    return found


EXCEPTIONS = _every_exception_class()


def test_the_walk_finds_exceptions_outside_errors_py() -> None:
    modules = {cls.__module__ for cls in EXCEPTIONS.values()}
    assert {"keel.errors", "keel.features.errors", "keel.serving.guard"} <= modules
    assert "keel.serving.predictor.ModelError" in EXCEPTIONS


@pytest.mark.parametrize("name", sorted(EXCEPTIONS))
def test_every_exception_class_has_a_status_and_an_exit_code(name: str) -> None:
    cls = EXCEPTIONS[name]
    assert issubclass(cls, errors.KeelError), f"{name} is not a KeelError: give it a family"
    family = errors.family_of_class(cls)
    assert family in HTTP_STATUS, f"{name}: no HTTP status for {family.__name__}"
    assert family in EXIT_CODES, f"{name}: no exit code for {family.__name__}"


@pytest.mark.parametrize("family", errors.FAMILIES, ids=lambda f: f.__name__)
def test_each_family_has_a_status_and_an_exit_code(family: type[errors.KeelError]) -> None:
    assert family in HTTP_STATUS
    assert family in EXIT_CODES


def test_the_tables_name_only_families() -> None:
    assert set(HTTP_STATUS) == set(EXIT_CODES) == {errors.KeelError, *errors.FAMILIES}


def test_families_cover_every_error_class_in_the_module() -> None:
    classes = [
        value
        for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.KeelError)
    ]
    for cls in classes:
        if cls is not errors.KeelError:
            assert any(issubclass(cls, family) for family in errors.FAMILIES), cls


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.ConfigError("x"), 422, 2),
        (errors.NotFound("user", "ana"), 404, 3),
        (errors.PermissionDenied("no"), 403, 5),
        (errors.Unauthenticated("no key"), 401, 8),
        (errors.IntegrityError("bad"), 500, 6),
        (errors.KeelError("?"), 500, 1),
    ],
    ids=["config", "not-found", "permission", "unauthenticated", "integrity", "base"],
)
def test_leaf_errors_map_through_their_family(
    error: errors.KeelError, status: int, code: int
) -> None:
    assert http_status(error) == status
    assert exit_code(error) == code


def test_to_dict_carries_structured_fields() -> None:
    body = errors.InvalidInput(
        "bad value", path="records[0].income", hint="send a number"
    ).to_dict()
    assert body == {
        "error": "InvalidInput",
        "message": "bad value",
        "hint": "send a number",
        "path": "records[0].income",
    }
