"""``python -m keel`` is the ``keel`` command."""

from keel.cli.app import main

main()
