"""What every page shares: escaping, the page shell, the report style and legends."""

from __future__ import annotations

from html import escape

__all__ = ["BOX", "DASHES", "REPORT_STYLE", "escape", "legend", "page", "svg"]

REPORT_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;color:#222}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #ccc;padding:.2rem .5rem;"
    "text-align:right}td:first-child,th:first-child{text-align:left}"
    ".alert{background:#fde2e1}.plot{display:inline-block;vertical-align:top;width:440px;"
    "margin:0 1rem 1rem 0}.plot p{font-size:.85rem}"
)
"""The stylesheet of the monitoring pages (drift and monitor reports), inlined in each page."""

BOX = "&#9632;"
"""A legend's mark for a filled line or bar."""
DASHES = "- -"
"""A legend's mark for a dashed line (thresholds, references)."""


def page(title: str, style: str, body: str) -> str:
    """One self-contained HTML document; ``title`` is escaped, ``body`` is HTML already."""
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{style}</style></head><body>"
        f"{body}</body></html>"
    )


def svg(width: float, height: float, content: str) -> str:
    """An inline SVG figure of ``width`` x ``height`` pixels around ``content``."""
    return (
        f"<svg width='{width}' height='{height}' xmlns='http://www.w3.org/2000/svg'>{content}</svg>"
    )


def legend(*keys: tuple[str, str, str]) -> str:
    """One line of keys, each ``(colour, mark, label)``; labels are escaped."""
    spans = (
        f"<span style='color:{colour}'>{mark} {escape(label)}</span>"
        for colour, mark, label in keys
    )
    return "<p>" + " &nbsp; ".join(spans) + "</p>"
