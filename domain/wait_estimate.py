"""How long a waiting patient will likely wait (pure: the durations and the time are given).

A consultation of this doctor typically lasts the median of their last ``RECENT`` completed
consultations (started to ended; the median, so one forgotten open call does not skew it),
bounded to ``[MIN_TYPICAL, MAX_TYPICAL]``; ``DEFAULT_TYPICAL`` when they have fewer than
``MIN_HISTORY`` of them. The wait is then

    patients ahead x typical + what is left of the consultation in progress

where what is left is ``typical - elapsed``, at least ``MIN_REMAINING`` (a call running over its
typical length is about to end, not already over). A patient who is next and whose doctor is
free waits nothing."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

RECENT = 10
MIN_HISTORY = 3
DEFAULT_TYPICAL = timedelta(minutes=15)
MIN_TYPICAL = timedelta(minutes=3)
MAX_TYPICAL = timedelta(minutes=60)
MIN_REMAINING = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class WaitEstimate:
    wait: timedelta
    typical: timedelta  # the consultation length assumed
    from_history: bool  # False: the default, too few past consultations


def typical_length(durations: Sequence[timedelta]) -> tuple[timedelta, bool]:
    """The typical consultation length from the doctor's recent ones (newest first), and
    whether it came from them."""
    recent = [d for d in durations[:RECENT] if d > timedelta(0)]
    if len(recent) < MIN_HISTORY:
        return DEFAULT_TYPICAL, False
    median = timedelta(seconds=statistics.median(d.total_seconds() for d in recent))
    return min(max(median, MIN_TYPICAL), MAX_TYPICAL), True


def estimate_wait(
    *,
    ahead: int,
    durations: Sequence[timedelta],
    in_progress_since: datetime | None,
    now: datetime,
) -> WaitEstimate:
    """``ahead``: patients before this one in the doctor's queue; ``in_progress_since``: when
    the doctor's current consultation started (None: the doctor is free)."""
    if ahead < 0:
        raise ValueError("ahead counts from zero")
    typical, from_history = typical_length(durations)
    remaining = timedelta(0)
    if in_progress_since is not None:
        elapsed = max(now - in_progress_since, timedelta(0))
        remaining = max(typical - elapsed, MIN_REMAINING)
    return WaitEstimate(
        wait=ahead * typical + remaining, typical=typical, from_history=from_history
    )
