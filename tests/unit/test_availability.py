"""Slot generation in the doctor's time zone, across both daylight-saving changes."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.availability import (
    Availability,
    WeeklyWindow,
    local_slots_for_day,
    local_to_utc,
    parse_hhmm,
    slot_at,
    slots_between,
    zone,
)
from domain.errors import InvalidInput

NY = "America/New_York"  # 2026: spring forward Sun 8 March 02:00, fall back Sun 1 November 02:00
BERLIN = "Europe/Berlin"  # 2026: 29 March 02:00 -> 03:00, 25 October 03:00 -> 02:00


def every_day(start: str, end: str) -> tuple[WeeklyWindow, ...]:
    return tuple(
        WeeklyWindow(d, parse_hhmm(start), parse_hhmm(end, allow_end_of_day=True)) for d in range(7)
    )


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_shanghai_morning_slots_are_utc_instants() -> None:
    monday = WeeklyWindow(0, parse_hhmm("09:00"), parse_hhmm("10:30"))
    av = Availability("Asia/Shanghai", 30, (monday,))
    slots = list(slots_between(av, utc(2026, 3, 2), utc(2026, 3, 9)))
    assert [s.start for s in slots] == [
        utc(2026, 3, 2, 1),
        utc(2026, 3, 2, 1, 30),
        utc(2026, 3, 2, 2),
    ]
    assert all(s.end - s.start == timedelta(minutes=30) for s in slots)


def test_local_hours_are_kept_across_both_dst_changes_in_berlin() -> None:
    av = Availability(BERLIN, 60, every_day("09:00", "10:00"))
    before_spring = slot_at(av, utc(2026, 3, 28, 8))  # CET, +01:00
    after_spring = slot_at(av, utc(2026, 3, 30, 7))  # CEST, +02:00
    assert before_spring is not None
    assert after_spring is not None
    assert slot_at(av, utc(2026, 3, 30, 8)) is None  # 10:00 local: outside the window
    before_autumn = slot_at(av, utc(2026, 10, 24, 7))  # CEST
    after_autumn = slot_at(av, utc(2026, 10, 26, 8))  # CET again
    assert before_autumn is not None
    assert after_autumn is not None


def test_spring_forward_night_has_no_slot_in_the_gap() -> None:
    av = Availability(NY, 30, every_day("00:00", "04:00"))
    labels = [label for label, _ in local_slots_for_day(av, date(2026, 3, 8))]
    # 02:00-03:00 does not exist that night: the window is three real hours long.
    assert labels == ["00:00", "00:30", "01:00", "01:30", "03:00", "03:30"]
    slots = [s for _, s in local_slots_for_day(av, date(2026, 3, 8))]
    assert slots[3].end == slots[4].start  # 01:30-02:00 EST ends when 03:00 EDT begins


def test_fall_back_night_offers_the_repeated_hour_once_each() -> None:
    av = Availability(NY, 30, every_day("00:00", "03:00"))
    day = local_slots_for_day(av, date(2026, 11, 1))
    labels = [label for label, _ in day]
    # The repeated hour 01:00-02:00 is two real hours: four slots, each a distinct instant.
    assert labels == ["00:00", "00:30", "01:00", "01:30", "01:00", "01:30", "02:00", "02:30"]
    starts = [s.start for _, s in day]
    assert len(set(starts)) == len(starts)
    assert all(b - a == timedelta(minutes=30) for a, b in itertools.pairwise(starts))


def test_window_starting_inside_the_gap_starts_when_the_gap_ends() -> None:
    av = Availability(NY, 30, every_day("02:30", "04:00"))
    labels = [label for label, _ in local_slots_for_day(av, date(2026, 3, 8))]
    assert labels == ["03:00", "03:30"]
    assert local_to_utc(datetime(2026, 3, 8, 2, 30, tzinfo=ZoneInfo(NY))) == utc(2026, 3, 8, 7)


def test_adjacent_windows_never_overlap_on_a_fall_back_night() -> None:
    windows = (
        WeeklyWindow(6, parse_hhmm("00:00"), parse_hhmm("01:30")),
        WeeklyWindow(6, parse_hhmm("01:30"), parse_hhmm("03:00")),
    )
    av = Availability(NY, 45, windows)
    slots = [s for _, s in local_slots_for_day(av, date(2026, 11, 1))]
    for a, b in itertools.pairwise(slots):
        assert a.end <= b.start


def test_a_window_may_end_at_midnight() -> None:
    av = Availability(
        "UTC",
        60,
        (WeeklyWindow(0, parse_hhmm("22:00"), parse_hhmm("24:00", allow_end_of_day=True)),),
    )
    slots = list(slots_between(av, utc(2026, 3, 2), utc(2026, 3, 3)))
    assert [s.start.hour for s in slots] == [22, 23]
    assert slots[-1].end == utc(2026, 3, 3)


def test_range_is_half_open_and_slot_at_is_exact() -> None:
    av = Availability("UTC", 30, every_day("09:00", "10:00"))
    assert [s.start for s in slots_between(av, utc(2026, 1, 5, 9), utc(2026, 1, 5, 9, 30))] == [
        utc(2026, 1, 5, 9)
    ]
    assert slot_at(av, utc(2026, 1, 5, 9, 15)) is None
    assert slot_at(av, utc(2026, 1, 5, 9, 30)) is not None


def test_partial_last_slot_is_dropped() -> None:
    av = Availability("UTC", 45, every_day("09:00", "10:00"))
    assert [s.start for s in slots_between(av, utc(2026, 1, 5), utc(2026, 1, 6))] == [
        utc(2026, 1, 5, 9)
    ]


@pytest.mark.parametrize(
    ("windows", "slot_minutes", "message"),
    [
        ((WeeklyWindow(0, 60, 180), WeeklyWindow(0, 120, 240)), 30, "overlap"),
        ((), 2, "slot_minutes"),
        ((), 1000, "slot_minutes"),
    ],
)
def test_bad_availability_is_refused(
    windows: tuple[WeeklyWindow, ...], slot_minutes: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Availability("UTC", slot_minutes, windows)


@pytest.mark.parametrize(
    ("weekday", "start", "end"), [(7, 0, 60), (-1, 0, 60), (0, 60, 60), (0, 0, 1441)]
)
def test_bad_window_is_refused(weekday: int, start: int, end: int) -> None:
    with pytest.raises(ValueError, match=r"weekday|window"):
        WeeklyWindow(weekday, start, end)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../etc/passwd", "/etc/localtime"])
def test_unknown_zone_is_invalid_input(name: str) -> None:
    with pytest.raises(InvalidInput):
        zone(name)


@pytest.mark.parametrize("text", ["9:00", "24:00", "12:60", "ab:cd", "12:00:00", ""])
def test_bad_times_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="time"):
        parse_hhmm(text)
