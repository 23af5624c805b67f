"""What the benchmarks share: where the peer tools live, running one case in a fresh
interpreter, peak memory, and the load note that goes with every timing.

Evidently and NannyML live in their own venv, .venv-bench-drift (built by ``make bench`` from
benchmarks/requirements-peers-drift.txt), because their pins clash with those of .venv-bench.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / ".venv-bench-drift" / "bin" / "python"


QUIET = {"EVIDENTLY_DISABLE_TELEMETRY": "1", "DO_NOT_TRACK": "1", "GX_ANALYTICS_ENABLED": "false"}
"""The peers' telemetry, switched off."""


def spawn(python: str, script: str, command: list[str], timeout: float) -> dict[str, Any]:
    """Run ``script`` in ``python``; its last stdout line is the JSON result. A missing
    interpreter, a timeout or a kill is a result too."""
    if not Path(python).exists():
        return {"error": f"not installed (no interpreter at {python})"}
    env = {**os.environ, **QUIET}
    try:
        done = subprocess.run(
            [python, script, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    if done.returncode == -signal.SIGKILL:
        return {"error": "killed (out of memory?)"}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit {done.returncode}, no output"]
        return {"error": f"failed: {tail[0][:120]}"}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def memory_kb(field: str) -> int:
    """VmRSS or VmHWM of this process, from /proc (Linux)."""
    status = Path("/proc/self/status").read_text()
    match = re.search(rf"^{field}:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) if match else 0


def reset_peak() -> bool:
    """Reset this process's peak RSS to its current RSS (Linux >= 4.0); False if not possible."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def peak_mb(reset: bool) -> float:
    """The peak RSS since ``reset_peak`` (or since start when it could not reset)."""
    kb = memory_kb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024


def load_note() -> str:
    """Times are only comparable on an otherwise idle machine: say how busy it is."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = "" if load < 0.5 else "  (other processes compete for the CPU: times are inflated)"
    return f"load average (1 min): {load:.2f} on {cores} cores{busy}"
