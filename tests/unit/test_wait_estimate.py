"""The waiting room's estimated wait, on a fake clock (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.wait_estimate import (
    DEFAULT_TYPICAL,
    MAX_TYPICAL,
    MIN_REMAINING,
    MIN_TYPICAL,
    RECENT,
    estimate_wait,
    typical_length,
)
from tests.clock import FakeClock

M = timedelta(minutes=1)


def test_the_median_of_the_recent_consultations_is_the_typical_length() -> None:
    assert typical_length([10 * M, 12 * M, 30 * M]) == (12 * M, True)
    # Only the newest RECENT count: older, longer ones do not.
    assert typical_length([8 * M] * RECENT + [50 * M] * 20) == (8 * M, True)
    # Too little history: the default, and said so.
    assert typical_length([20 * M, 22 * M]) == (DEFAULT_TYPICAL, False)
    assert typical_length([]) == (DEFAULT_TYPICAL, False)
    # Bounded: a run of two-minute calls or of forgotten open calls.
    assert typical_length([timedelta(seconds=30)] * 5) == (MIN_TYPICAL, True)
    assert typical_length([5 * 60 * M] * 5) == (MAX_TYPICAL, True)


def test_the_wait_counts_the_patients_ahead_and_what_is_left_of_the_current_call() -> None:
    clock = FakeClock(datetime(2026, 3, 3, 2, 0, tzinfo=UTC))
    history = [10 * M, 14 * M, 12 * M, 11 * M, 13 * M]  # median 12 minutes
    started = clock.now
    clock.advance(minutes=5)
    two_ahead = estimate_wait(ahead=2, durations=history, in_progress_since=started, now=clock.now)
    assert two_ahead.wait == 2 * 12 * M + 7 * M
    assert two_ahead.from_history

    clock.advance(minutes=4)  # the estimate comes down as the current call goes on
    later = estimate_wait(ahead=2, durations=history, in_progress_since=started, now=clock.now)
    assert later.wait == two_ahead.wait - 4 * M

    clock.advance(minutes=30)  # running over: about to end, never negative
    over = estimate_wait(ahead=0, durations=history, in_progress_since=started, now=clock.now)
    assert over.wait == MIN_REMAINING

    free = estimate_wait(ahead=0, durations=history, in_progress_since=None, now=clock.now)
    assert free.wait == timedelta(0)
    new_doctor = estimate_wait(ahead=1, durations=[], in_progress_since=None, now=clock.now)
    assert (new_doctor.wait, new_doctor.from_history) == (DEFAULT_TYPICAL, False)
    with pytest.raises(ValueError, match="from zero"):
        estimate_wait(ahead=-1, durations=history, in_progress_since=None, now=clock.now)
