"""The deployment's activity over time: how many rooms are active and how many people are
connected, sampled once per interval (pure: no I/O, the time is given)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from domain.consultation import Room

# One sample every 10 seconds, kept for 30 minutes: 180 points, what the admin's chart shows.
SAMPLE_SECONDS = 10
HISTORY_SECONDS = 30 * 60


@dataclass(frozen=True, slots=True)
class ActivitySample:
    at: int  # unix seconds, the start of the sample's interval
    rooms: int  # active rooms
    people: int  # sockets holding a seat, over all rooms

    def __post_init__(self) -> None:
        if self.at < 0 or self.rooms < 0 or self.people < 0:
            raise ValueError("an activity sample counts from zero")


def slot_of(now: datetime, interval: int = SAMPLE_SECONDS) -> int:
    """The start (unix seconds) of the interval ``now`` falls in: every node computes the same
    slot for the same moment, which is what lets exactly one of them record it."""
    seconds = int(now.timestamp())
    return seconds - seconds % interval


def sample_of(rooms: Iterable[Room], *, at: int) -> ActivitySample:
    listed = list(rooms)
    people = sum(1 for room in listed for seat in room.seats if seat.connected)
    return ActivitySample(at=at, rooms=len(listed), people=people)


def oldest_kept(now: datetime, window: int = HISTORY_SECONDS) -> int:
    """Samples older than this slot (unix seconds) fall out of the history."""
    return slot_of(now) - window
