"""A real Ray cluster on loopback for the tests: a head node and one worker node, each a
``ray start --block`` process with one CPU and a small object store, in a private temp folder.

Teardown never uses ``ray stop`` (it stops every Ray process of the machine's user): it ends
the processes of this cluster only, found by the sessions of the two ``ray start`` processes.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = Path(sys.executable).with_name("ray")
OBJECT_STORE_BYTES = 150_000_000
CLIENT_ENV = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}
"""For the cluster and for every command joining it: no token file in the home folder is
read or written (Ray makes one when a process starts a cluster of its own)."""
WORKER_PORTS = 12  # one per worker process a node may start
PORT_OPTIONS = (
    "--object-manager-port",
    "--node-manager-port",
    "--dashboard-agent-listen-port",
    "--dashboard-agent-grpc-port",
    "--runtime-env-agent-port",
    "--metrics-export-port",
)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


@dataclass
class RayCluster:
    address: str
    temp_dir: Path
    starters: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def processes(self) -> list[int]:
        """Every live process of this cluster: those in the sessions of its ``ray start``s."""
        sessions = {p.pid for p in self.starters}
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2 :].split()
            if int(fields[3]) in sessions and fields[0] != "Z":  # field 6: session id
                found.append(int(entry.name))
        return found

    def workers(self, title: str) -> list[int]:
        """This cluster's worker processes whose title starts with ``title`` (``ray::…``)."""
        found = []
        for pid in self.processes():
            try:
                line = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if line.startswith(title):
                found.append(pid)
        return found

    def stop(self) -> None:
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            for pid in self.processes():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.1)
        for starter in self.starters:
            starter.wait(timeout=5)
        shutil.rmtree(self.temp_dir, ignore_errors=True)


def _node(
    arguments: list[str], ports: list[int], temp_dir: Path, log: Path
) -> subprocess.Popen[bytes]:
    options = [f"{flag}={port}" for flag, port in zip(PORT_OPTIONS, ports, strict=False)]
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("RAY_", "KEEL_"))}
    environ |= CLIENT_ENV
    with log.open("ab") as sink:
        return subprocess.Popen(
            [
                str(RAY),
                "start",
                "--block",
                "--node-ip-address=127.0.0.1",
                "--num-cpus=1",
                f"--object-store-memory={OBJECT_STORE_BYTES}",
                f"--temp-dir={temp_dir}",
                "--disable-usage-stats",
                "--worker-port-list=" + ",".join(map(str, ports[len(PORT_OPTIONS) :])),
                *options,
                *arguments,
            ],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=environ,
            start_new_session=True,
        )


def start_cluster(timeout: float = 120.0, *, workers: int = 1) -> RayCluster:
    """Start the head node, then ``workers`` worker nodes joining it; return once all are up."""
    temp_dir = Path(tempfile.mkdtemp(prefix="keel-ray-", dir="/tmp"))  # short: socket paths
    per_node = len(PORT_OPTIONS) + WORKER_PORTS
    port, *ports = free_ports(1 + (1 + workers) * per_node)  # taken at once: all different
    address = f"127.0.0.1:{port}"
    cluster = RayCluster(address, temp_dir)
    head = ["--head", f"--port={port}", "--include-dashboard=false"]
    join = [f"--address={address}"]
    nodes = [
        (head if n == 0 else join, ports[n * per_node : (n + 1) * per_node])
        for n in range(1 + workers)
    ]
    try:
        for number, (arguments, node_ports) in enumerate(nodes):
            log = temp_dir / f"node-{number}.log"
            cluster.starters.append(_node(arguments, node_ports, temp_dir, log))
            _wait_for_start(cluster.starters[-1], log, timeout)
    except BaseException:
        cluster.stop()
        raise
    return cluster


def _wait_for_start(starter: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    """Wait until ``ray start`` says its node runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "Ray runtime started" in text:
            return
        if starter.poll() is not None:
            raise RuntimeError(f"ray start exited:\n{text[-3000:]}")
        time.sleep(0.2)
    raise RuntimeError(f"a Ray node did not start in {timeout} s:\n{log.read_text()[-3000:]}")
