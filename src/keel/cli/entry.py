"""The ``keel`` executable's first frame: Ctrl-C at any moment is one line and exit 130.

This module imports nothing heavy, so that an interrupt while the rest of Keel is still being
imported (or while the project opens) is caught here rather than printed as a traceback.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a command stopped with Ctrl-C."""

_deferred = False
"""A Ctrl-C arrived while a module was being imported; it is raised once the import is done."""


def _importing(frame: FrameType | None) -> bool:
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


def _on_interrupt(signum: int, frame: FrameType | None) -> None:
    """Ctrl-C: at once, except in the middle of an import, where interrupting a compiled
    library's initialisation can crash the interpreter; then when the import is over."""
    global _deferred  # noqa: PLW0603 - one flag shared with ``raise_deferred``
    if _importing(frame):
        _deferred = True
        _again_soon()  # the import may end in code that never calls ``raise_deferred``
        return
    _deferred = False
    raise KeyboardInterrupt


def _again_soon() -> None:
    """Deliver SIGINT to this process again in 50 ms (its handler decides again)."""
    import threading  # noqa: PLC0415 - only after a Ctrl-C

    timer = threading.Timer(0.05, os.kill, (os.getpid(), signal.SIGINT))
    timer.daemon = True
    timer.start()


def raise_deferred() -> None:
    """Raise the Ctrl-C that arrived during an import (called when one finishes)."""
    global _deferred  # noqa: PLW0603
    if _deferred:
        _deferred = False
        raise KeyboardInterrupt


def main() -> None:
    """Run the ``keel`` command; an interrupt ends it with one line on stderr and exit 130."""
    signal.signal(signal.SIGINT, _on_interrupt)
    try:
        from keel.cli.app import main as run  # noqa: PLC0415 - imported under the guard

        raise_deferred()
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
