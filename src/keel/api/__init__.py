"""The control-plane REST API of ``keel server``: every operation of the CLI over HTTP.

``create_api`` builds the app over an opened project; ``finish`` checks that every route
declares its access policy and puts the guard (path checks, body limit, security headers) in
front. Routes call the use cases of ``keel.app`` only.
"""

from keel.api.app import create_api, finish

__all__ = ["create_api", "finish"]
