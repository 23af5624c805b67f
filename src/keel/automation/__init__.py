"""The agent: its policy, the canary statistics, the guards it needs from storage, its decisions.

Pure domain code: the policy (``policy``), the sequential canary analysis (``canary``), the
records of the action journal and the port the SQL adapter implements (``journal``, ``ports``),
and the planner that turns observations into decisions (``planner``). The use cases that act
live in ``keel.app.agent``.
"""
