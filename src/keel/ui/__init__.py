"""The dashboard of ``keel server``: server-rendered pages (Jinja2, autoescaped) over the use
cases of ``keel.app``, with htmx and uPlot served from ``static/vendor`` (no other origin)."""
