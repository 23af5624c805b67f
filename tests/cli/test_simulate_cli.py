"""``keel simulate``: separate runs share no entity id once each gets its own --id-offset."""

from __future__ import annotations

import csv
from pathlib import Path

from tests.cli.conftest import Keel


def _ids(path: Path) -> set[str]:
    with path.open() as handle:
        return {row["application_id"] for row in csv.DictReader(handle)} - {""}


def test_runs_with_their_own_id_offset_share_no_id(keel: Keel, tmp_path: Path) -> None:
    first = keel("simulate", "--rows", "500", "--seed", "1", "--out", "jan.csv")
    second = keel(
        "simulate", "--rows", "500", "--seed", "2", "--id-offset", "500", "--out", "feb.csv"
    )
    assert first.code == 0 and second.code == 0, first.err + second.err
    jan, feb = _ids(tmp_path / "jan.csv"), _ids(tmp_path / "feb.csv")
    assert jan and feb and not jan & feb
    assert min(feb) == "a-0000000501"


def test_help_says_how_ids_are_numbered(keel: Keel) -> None:
    shown = keel("simulate", "--help")
    assert shown.code == 0
    text = " ".join(shown.out.replace("│", " ").split())
    assert "--id-offset" in text and "share ids" in text
