"""``python -m keel`` is the ``keel`` command."""

from keel.cli.entry import main

main()
