"""The appointment lifecycle as a pure state machine."""

from __future__ import annotations

import itertools

import pytest

from domain.appointments import (
    TRANSITIONS,
    AppointmentStatus,
    can_transition,
    check_transition,
    sources_of,
)
from domain.errors import Conflict

S = AppointmentStatus

LEGAL = {
    (S.BOOKED, S.WAITING),
    (S.WAITING, S.IN_PROGRESS),
    (S.IN_PROGRESS, S.COMPLETED),
    (S.BOOKED, S.CANCELLED),
    (S.WAITING, S.CANCELLED),
    (S.BOOKED, S.NO_SHOW),
}


@pytest.mark.parametrize(("current", "target"), list(itertools.product(S, S)))
def test_exactly_the_documented_transitions_are_legal(current: S, target: S) -> None:
    legal = (current, target) in LEGAL
    assert can_transition(current, target) is legal
    if legal:
        check_transition(current, target)
    else:
        with pytest.raises(Conflict):
            check_transition(current, target)


def test_final_states_have_no_way_out() -> None:
    for final in (S.COMPLETED, S.CANCELLED, S.NO_SHOW):
        assert TRANSITIONS[final] == frozenset()


def test_sources_are_the_inverse_of_transitions() -> None:
    assert sources_of(S.CANCELLED) == {S.BOOKED, S.WAITING}
    assert sources_of(S.IN_PROGRESS) == {S.WAITING}
    assert sources_of(S.BOOKED) == frozenset()
