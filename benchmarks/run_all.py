"""Run every benchmark script in benchmarks/ with its default sizes (what ``make bench`` runs).

A benchmark script is any ``benchmarks/*.py`` other than this one and ``_``-prefixed helpers. Each
takes ``--python-peers PATH`` (the interpreter of .venv-bench, where the peer tools live) or
``--no-peers`` (Keel alone). Peers run only when .venv-bench exists; otherwise Keel runs alone and
a note says how to get the comparison.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / ".venv-bench" / "bin" / "python"


def scripts() -> list[Path]:
    """The benchmark scripts, in name order."""
    return [
        path
        for path in sorted(HERE.glob("*.py"))
        if path.name != Path(__file__).name and not path.name.startswith("_")
    ]


def main() -> int:
    """Run each script in turn; the exit code is non-zero if any of them failed."""
    if PEERS.exists():
        peers = ["--python-peers", str(PEERS)]
    else:
        peers = ["--no-peers"]
        print(
            f"note: no {PEERS.relative_to(HERE.parent)}: Keel runs alone."
            " `make bench` builds it from benchmarks/requirements-peers.txt.",
            flush=True,
        )
    failed: list[str] = []
    for script in scripts():
        print(f"\n=== {script.relative_to(HERE.parent)} ===", flush=True)
        done = subprocess.run([sys.executable, str(script), *peers], check=False)
        if done.returncode != 0:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
