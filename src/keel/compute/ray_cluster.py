"""Joining a Ray cluster, or starting a private local one, for the length of one command.

``--ray-address`` (or ``KEEL_RAY_ADDRESS``) names a running cluster (``ray start --head``
prints it); without it a local cluster starts for the command and stops after it. The local
cluster never joins one that happens to run on the machine: ``ray.init(address="local")``.
"""

from __future__ import annotations

import importlib
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

from keel.errors import InvalidInput, StorageUnavailable

ADDRESS_VARIABLE = "KEEL_RAY_ADDRESS"
CONNECT_SECONDS = 5.0


def ray_module() -> Any:
    """The ``ray`` package, or a one-line error telling how to install it."""
    try:
        return importlib.import_module("ray")
    except ImportError:
        raise InvalidInput(
            "--executor ray needs Ray, which is not installed",
            path="executor",
            hint="pip install 'keel[ray]'",
        ) from None


def cluster_address(address: str | None) -> str | None:
    """The address to join: the option, else ``KEEL_RAY_ADDRESS``, else None (start one)."""
    return address or os.environ.get(ADDRESS_VARIABLE) or None


@contextmanager
def ray_cluster(address: str | None = None) -> Iterator[Any]:
    """Ray connected to the cluster at ``address`` (see ``cluster_address``) or to a new local
    one; disconnected at the end. Inside a process already connected, that connection is used."""
    ray = ray_module()
    if ray.is_initialized():
        yield ray
        return
    joined = cluster_address(address)
    if joined is not None:
        _reachable(joined)
    options: dict[str, Any] = {
        "logging_level": logging.WARNING,
        "log_to_driver": False,
        "configure_logging": True,
    }
    try:
        if joined is None:
            ray.init(address="local", include_dashboard=False, **options)
        else:
            ray.init(address=joined, **options)
    except (ConnectionError, RuntimeError, ValueError) as error:
        where = joined or "a local cluster"
        raise StorageUnavailable(
            f"cannot start or join the Ray cluster at {where}: {str(error).splitlines()[0]}",
            hint=f"check --ray-address / {ADDRESS_VARIABLE}; `ray status --address ADDRESS`",
        ) from None
    try:
        # Ray prints the errors of its workers (a retried task, say) on standard output, which
        # is the command's (its --json): they go to standard error, with the other messages.
        with redirect_stdout(sys.stderr):
            yield ray
    finally:
        ray.shutdown()


def cluster_cpus(ray: Any) -> int:
    """The CPUs the cluster offers now (at least 1)."""
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def _reachable(address: str) -> None:
    """Refuse at once an address where nothing answers (Ray itself waits minutes)."""
    host, _, port = address.rpartition(":")
    if address.startswith("ray://") or not port.isdigit():
        return  # a client URL or a bare host: let Ray parse and report it
    try:
        socket.create_connection((host or "127.0.0.1", int(port)), timeout=CONNECT_SECONDS).close()
    except OSError as error:
        raise StorageUnavailable(
            f"no Ray cluster answers at {address}: {error.strerror or error}",
            hint=f"check --ray-address / {ADDRESS_VARIABLE}; `ray status --address ADDRESS`",
        ) from None
