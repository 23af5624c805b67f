"""Pages for people: the model card, the drift report and the monitor report, as self-contained
HTML with inline SVG plots (no script, stylesheet or font is fetched, so a page opens anywhere,
offline, and can be attached to an incident or a release as it is).

Where it sits: above the domain packages whose records it renders (``keel.training``,
``keel.monitoring``, ``keel.evaluation``) and below the composition root and the faces, beside
``keel.store`` (neither imports the other). The domain keeps only the data the pages show (a
``Run``, a ``DriftReport``, ``ChunkResult`` and ``Incident`` records) and knows nothing of HTML.
Rendering is presentation: it changes with the faces (the dashboard will show the same pages), and
placing it below the domain would mean either domain imports of page code or a second,
duck-typed copy of every record here. The one place the domain needs a page while it works, the
card a run stores when it finishes, is a port: ``keel.training.card.CardRenderer``, which
``keel.wiring`` fills with ``keel.reporting.card.ModelCards`` when it builds the ``Trainer``.

Modules: ``html`` (escaping, the page shell, legends), ``plots`` (the SVG figures), ``card``,
``drift`` and ``monitor`` (one page each). Pure functions of their inputs: no I/O.
"""
