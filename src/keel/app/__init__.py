"""The application layer: every operation a face (CLI, prediction service start-up, control-plane
API, dashboard, agent) can ask for, one module per plane.

A face parses its input, opens the project (``keel.app.session.open_project``), calls one use case
and renders the typed result it returns. A use case is a function ``fn(keel, actor, ...)``
decorated with ``@use_case(role, action=..., writes=...)`` (``keel.app.use_case``): the decorator
resolves who is acting and checks the role before the body runs, so every face gets the same
rule, and a test walks every use case to prove it. Results are frozen dataclasses with
``to_dict()`` (``keel.app.result.Result``) or the domain's own records, never loose dictionaries.

Planes: ``project`` (init, status, database, users, audit), ``data``, ``training``, ``registry``,
``serving`` (assembly of the prediction service, batch scoring, the prediction log),
``monitoring``, ``queries`` (lineage across planes), ``files`` (work on local files that opens
no project), ``demo`` (the closed loop, step by step).

Only this package and ``keel.wiring`` (the composition root it calls) may build store
implementations; an import contract in ``pyproject.toml`` keeps the faces off them.
"""
