"""The ``keel`` executable's first frame: Ctrl-C at any moment is one line and exit 130.

This module imports nothing heavy, so that an interrupt while the rest of Keel is still being
imported (or while the project opens) is caught here rather than printed as a traceback.
"""

from __future__ import annotations

import os
import sys

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a command stopped with Ctrl-C."""


def main() -> None:
    """Run the ``keel`` command; an interrupt ends it with one line on stderr and exit 130."""
    try:
        from keel.cli.app import main as run  # noqa: PLC0415 - imported under the guard

        run()
    except KeyboardInterrupt:  # before Typer runs a command: while importing
        if "--debug" in sys.argv or os.environ.get("KEEL_DEBUG") == "1":
            raise
        _interrupted()
    except SystemExit as done:  # Typer turns Ctrl-C inside a command into a silent exit 130
        if done.code == EXIT_INTERRUPTED:
            _interrupted()
        raise


def _interrupted() -> None:
    sys.stderr.write("interrupted (Ctrl-C)\n")
    sys.exit(EXIT_INTERRUPTED)
