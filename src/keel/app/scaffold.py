"""Create a project folder from one of the shipped examples."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import keel
from keel.errors import Conflict, InvalidInput

EXAMPLES = {"loan": "loan", "acs": "acs-employment"}


def examples_root() -> Path:
    """The examples folder: inside an installed wheel, or at the top of a source checkout."""
    packaged = Path(str(resources.files(keel) / "_examples"))
    if packaged.is_dir():
        return packaged
    return Path(keel.__file__).resolve().parents[2] / "examples"


def scaffold(destination: Path, example: str) -> Path:
    """Copy the example's files into ``destination`` (new or empty) and return its keel.yaml."""
    if example not in EXAMPLES:
        raise InvalidInput(
            f"unknown example {example!r}; expected one of: {', '.join(EXAMPLES)}", path="example"
        )
    if destination.exists() and any(destination.iterdir()):
        raise Conflict(
            f"{destination} exists and is not empty",
            hint="pick a new folder; keel init never overwrites files",
        )
    source = examples_root() / EXAMPLES[example]
    shutil.copytree(source, destination, dirs_exist_ok=True)
    return destination / "keel.yaml"
