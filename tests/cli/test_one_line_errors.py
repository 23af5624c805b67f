"""Input that used to end in a traceback is one line with a hint and the documented exit code."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Keel

TOO_LARGE = "99999999999999999999"  # beyond SQLite's 64-bit integers


def test_ids_too_large_for_the_database_and_a_negative_seed_are_one_line(
    keel: Keel, project: Path
) -> None:
    for args in (["data", "show", f"v{TOO_LARGE}"], ["incidents", "show", TOO_LARGE]):
        result = keel(*args, cwd=project)
        assert result.code == 2, (args, result.err)
        assert "Traceback" not in result.err
        assert result.err.startswith("error: a number is too large"), result.err
        assert "hint:" in result.err
    seed = keel("train", "--seed", "-1", cwd=project)
    assert seed.code == 2 and "Traceback" not in seed.err
    assert "--seed" in seed.err


def test_a_policy_version_that_is_not_one_is_one_line_naming_it(keel: Keel, project: Path) -> None:
    for args in (["decisions", "gate", "abc"], ["decisions", "approve", "p0"]):
        result = keel(*args, cwd=project)
        assert result.code == 2, (args, result.err)
        assert "Traceback" not in result.err
        assert "is not a policy version" in result.err and "hint: write p2" in result.err
