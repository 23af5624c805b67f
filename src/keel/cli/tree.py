"""The root ``keel`` group, which imports a command's module only when that command is used.

Building every command is what made ``keel --help`` and every other invocation slow: Typer reads
the signature of each of some seventy commands and the modules that declare them. The root group
here knows its commands by name, module and one-line help (the pattern Click documents as lazily
loading subcommands), so ``keel data ingest`` builds the ``data`` group alone and ``keel --help``
builds none. ``tests/cli/test_startup.py`` checks that each one-line help is the command's own.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Final

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from keel.cli.entry import raise_deferred

MARKUP_MODE: Final = "rich"


@dataclass(frozen=True, slots=True)
class Entry:
    """A command of the root group: where it is declared and what ``keel --help`` says of it.

    ``attribute`` names a function (a single command) or a ``typer.Typer`` (a group).
    """

    name: str
    module: str
    attribute: str
    summary: str


class LazyRoot(TyperGroup):
    """The root group: lists its entries without importing them, loads one when it runs."""

    entries: tuple[Entry, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._by_name = {entry.name: entry for entry in self.entries}
        self._loaded: dict[str, Any] = {}
        self._listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return list(self._by_name)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        entry = self._by_name.get(cmd_name)
        if entry is None:
            return None
        if self._listing:  # the help page needs names and summaries only
            return TyperCommand(name=entry.name, help=entry.summary, rich_markup_mode=MARKUP_MODE)
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load(entry)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


def load(entry: Entry) -> Any:
    """Import the module declaring ``entry`` and build its Click command (or group)."""
    module = importlib.import_module(entry.module)
    raise_deferred()  # a Ctrl-C during the import counts now that it is over
    declared = getattr(module, entry.attribute)
    if isinstance(declared, typer.Typer):
        group = typer.main.get_group(declared)
        group.name = entry.name
        return group
    single = typer.Typer(rich_markup_mode=MARKUP_MODE, add_completion=False)
    single.command(name=entry.name)(declared)
    return typer.main.get_command(single)


def root_class(entries: tuple[Entry, ...]) -> type[LazyRoot]:
    """A ``LazyRoot`` subclass that knows ``entries`` (Typer instantiates the class itself)."""
    return type("KeelRoot", (LazyRoot,), {"entries": entries})
