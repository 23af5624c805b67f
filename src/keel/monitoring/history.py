"""Moved: the monitor report page is rendered by ``keel.reporting.monitor``.

This name remains only while ``keel.cli.monitor``, ``keel.cli.demo`` and
``tests/contract/test_monitoring.py`` import it from here; it goes once they import
``keel.reporting.monitor``. The monitoring package holds the report's data (``ChunkResult`` and
``Incident`` records), not its page.
"""

from keel.reporting.monitor import render_history

__all__ = ["render_history"]
