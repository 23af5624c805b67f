"""Modules the CLI imports on first use, so ``keel --help`` does not pay for pandas or LightGBM.

A command module names the use cases it calls at the top, as usual, but binds the name to a
stand-in that imports the module the first time one of its attributes is read::

    if TYPE_CHECKING:
        from keel.app import data as use
    else:
        use = lazy("keel.app.data")

Type checkers see the real module; at run time ``use.ingest(...)`` imports ``keel.app.data``
when the command runs, not when the command tree is built.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from keel.cli.entry import raise_deferred


class LazyModule:
    """Stands for the module ``name`` and imports it when an attribute is first read."""

    __slots__ = ("_module", "_name")

    def __init__(self, name: str) -> None:
        self._name = name
        self._module: ModuleType | None = None

    def __getattr__(self, attribute: str) -> Any:
        if self._module is None:
            self._module = importlib.import_module(self._name)
            raise_deferred()  # a Ctrl-C during the import counts now that it is over
        return getattr(self._module, attribute)

    def __repr__(self) -> str:
        state = "imported" if self._module is not None else "not imported yet"
        return f"<lazy module {self._name!r} ({state})>"


def lazy(name: str) -> Any:
    """A stand-in for the module ``name`` (see the module docstring for the pattern)."""
    return LazyModule(name)
