"""Release states and history rows: pure transitions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from keel.errors import Conflict, InvalidInput
from keel.registry.releases import ReleaseState, next_release, rollback_target

AT = datetime(2026, 1, 1, tzinfo=UTC)


def test_promotion_moves_the_champion_to_previous_and_clears_the_new_champion_elsewhere() -> None:
    state = ReleaseState(champion=1).with_shadow(2).with_shadow(3).with_canary(2, 25)
    promoted = state.promote(2)
    assert promoted == ReleaseState(champion=2, shadow=(3,), previous_champion=1)
    assert state.promote(3).canary == 2  # another canary stays


def test_refused_transitions_say_why() -> None:
    state = ReleaseState(champion=1)
    with pytest.raises(Conflict, match="already the champion"):
        state.promote(1)
    with pytest.raises(Conflict, match="champion"):
        state.with_shadow(1)
    with pytest.raises(Conflict, match="already in shadow"):
        state.with_shadow(2).with_shadow(2)
    with pytest.raises(Conflict, match="not in shadow"):
        state.without_shadow(2)
    with pytest.raises(InvalidInput, match=r"\[0, 100\)"):
        state.with_canary(2, 100)
    with pytest.raises(InvalidInput):
        state.with_canary(2, -1)
    with pytest.raises(Conflict, match="no canary"):
        state.with_canary(2, 0)
    with pytest.raises(Conflict, match="needs a champion"):
        ReleaseState().with_canary(2, 10)


def test_a_canary_share_of_zero_ends_the_canary() -> None:
    state = ReleaseState(champion=1).with_canary(2, 10)
    assert state.with_canary(2, 0) == ReleaseState(champion=1)


def test_rows_follow_their_parent_and_rollback_targets_the_parent_of_the_undone_change() -> None:
    first = next_release(
        None, ReleaseState(champion=1), project="p", action="promote", actor="a", at=AT
    )
    second = next_release(
        first, ReleaseState(champion=2), project="p", action="promote", actor="a", at=AT
    )
    assert (first.seq, first.parent, first.restores) == (1, 0, 1)
    assert (second.seq, second.parent, second.restores) == (2, 1, 2)
    assert second.id == "rel-0002"
    assert rollback_target(second, second) == 1
    with pytest.raises(Conflict, match="first release"):
        rollback_target(first, first)


def test_each_serving_version_has_its_role() -> None:
    state = ReleaseState(champion=1).with_shadow(3).with_canary(2, 12.5)
    assert state.roles() == {1: "champion", 3: "shadow", 2: "canary 12.5%"}
    assert ReleaseState().roles() == {}
