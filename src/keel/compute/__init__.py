"""Executors that spread the work of a use case over more than one machine.

Each adapter takes the unit of work the local path already has (a chunk to score, a trial to
train) and runs it elsewhere; nothing here is a second pipeline. Ray (``pip install
'keel[ray]'``) is imported only by the modules named ``ray_*``, and only when a command asks
for ``--executor ray``.
"""
