"""Moved: the drift report page is rendered by ``keel.reporting.drift``.

This name remains only while ``keel.cli.drift`` imports it from here; it goes once that caller
imports ``keel.reporting.drift``. The monitoring package holds the report's data
(``keel.monitoring.results.DriftReport``), not its page.
"""

from keel.reporting.drift import render_drift_report

__all__ = ["render_drift_report"]
