"""Run every benchmark script in benchmarks/ with its default sizes (what ``make bench`` runs).

A benchmark script is any ``benchmarks/*.py`` other than this one and ``_``-prefixed helpers. Each
takes ``--python-peers PATH`` (the interpreter of .venv-bench, where the peer tools live) or
``--no-peers`` (Keel alone). The monitoring benchmarks (``DRIFT_SCRIPTS``) compare with Evidently
and NannyML, whose pins clash with .venv-bench's, so they take ``--python-drift-peers PATH``, the
interpreter of .venv-bench-drift, instead. Peers run only when their venv exists; otherwise Keel
runs alone and a note says how to get the comparison.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / ".venv-bench" / "bin" / "python"
DRIFT_PEERS = HERE.parent / ".venv-bench-drift" / "bin" / "python"
DRIFT_SCRIPTS = frozenset({"drift.py", "drift_quality.py", "estimation.py", "monitor_files.py"})


def scripts() -> list[Path]:
    """The benchmark scripts, in name order."""
    return [
        path
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name and not path.name.startswith("_")
    ]


def peer_options(python: Path, option: str, requirements: str) -> list[str]:
    """``option PATH`` when that venv exists, else ``--no-peers`` and a note."""
    if python.exists():
        return [option, str(python)]
    print(
        f"note: no {python.parents[1].relative_to(HERE.parent)}: Keel runs alone in the scripts"
        f" that need it. `make bench` builds it from benchmarks/{requirements}.",
        flush=True,
    )
    return ["--no-peers"]


def main() -> int:
    """Run each script in turn; the exit code is non-zero if any of them failed."""
    peers = peer_options(PEERS, "--python-peers", "requirements-peers.txt")
    drift_peers = peer_options(DRIFT_PEERS, "--python-drift-peers", "requirements-peers-drift.txt")
    failed: list[str] = []
    for script in scripts():
        print(f"\n=== {script.relative_to(HERE.parent)} ===", flush=True)
        options = drift_peers if script.name in DRIFT_SCRIPTS else peers
        done = subprocess.run([sys.executable, str(script), *options], check=False)
        if done.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
