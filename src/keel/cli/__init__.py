"""The ``keel`` command: one module per command group, errors mapped to exit codes once."""
