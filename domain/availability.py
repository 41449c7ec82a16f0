"""A doctor's weekly availability and the bookable slots it yields (pure, no I/O).

Availability is written in the doctor's own wall-clock time ("Mondays 09:00-12:00 in
Asia/Shanghai"); slots are absolute instants in UTC. The conversion goes through ``zoneinfo``
day by day, so a window keeps its local hours across daylight-saving changes (09:00 in Berlin is
08:00Z in winter and 07:00Z in summer), and on the night of a change:

* a window boundary inside the spring-forward gap means the end of the gap (02:30 on a night
  that skips 02:00-03:00 means 03:00);
* a boundary inside the repeated hour of a fall-back night means its first occurrence;
* slots are cut from the window's real (UTC) length, so a window across a change holds one hour
  fewer or more of slots, never a duplicated or non-existent one.

Local-to-UTC is thereby monotonic, so windows that do not overlap on the wall clock never
overlap in real time either.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.errors import InvalidInput

MIN_SLOT_MINUTES = 5
MAX_SLOT_MINUTES = 480
MAX_WINDOWS = 7 * 12

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
END_OF_DAY = "24:00"


def parse_hhmm(value: str, *, allow_end_of_day: bool = False) -> int:
    """Minutes since midnight of an ``HH:MM`` string (``24:00`` only where allowed)."""
    if allow_end_of_day and value == END_OF_DAY:
        return 24 * 60
    match = _HHMM.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time like 09:30")
    return int(match.group(1)) * 60 + int(match.group(2))


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def zone(name: str) -> ZoneInfo:
    """The IANA time zone ``name``; :class:`InvalidInput` when there is no such zone."""
    try:
        if not name or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"{name!r} is not an IANA time zone such as Asia/Shanghai") from None


@dataclass(frozen=True, slots=True)
class WeeklyWindow:
    weekday: int  # Monday=0 ... Sunday=6
    start: int  # minutes since local midnight
    end: int  # minutes since local midnight, 1..1440, > start

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError("weekday must be 0 (Monday) to 6 (Sunday)")
        if not 0 <= self.start < self.end <= 24 * 60:
            raise ValueError("a window must end after it starts, on the same day")


@dataclass(frozen=True, slots=True)
class Availability:
    timezone: str
    slot_minutes: int
    weekly: tuple[WeeklyWindow, ...]

    def __post_init__(self) -> None:
        zone(self.timezone)
        if not MIN_SLOT_MINUTES <= self.slot_minutes <= MAX_SLOT_MINUTES:
            raise ValueError(
                f"slot_minutes must be between {MIN_SLOT_MINUTES} and {MAX_SLOT_MINUTES}"
            )
        if len(self.weekly) > MAX_WINDOWS:
            raise ValueError(f"at most {MAX_WINDOWS} weekly windows")
        problem = overlap(self.weekly)
        if problem is not None:
            raise ValueError(problem)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def overlap(windows: Iterable[WeeklyWindow]) -> str | None:
    """A message naming the first two overlapping windows of one weekday, or ``None``."""
    ordered = sorted(windows, key=lambda w: (w.weekday, w.start))
    for first, second in itertools.pairwise(ordered):
        if first.weekday == second.weekday and second.start < first.end:
            return (
                f"windows {format_hhmm(first.start)}-{format_hhmm(first.end)} and "
                f"{format_hhmm(second.start)}-{format_hhmm(second.end)} overlap on weekday "
                f"{first.weekday}"
            )
    return None


@dataclass(frozen=True, slots=True, order=True)
class Slot:
    start: datetime  # UTC
    end: datetime  # UTC

    def overlaps(self, start: datetime, end: datetime) -> bool:
        return self.start < end and start < self.end


def local_to_utc(local: datetime) -> datetime:
    """The UTC instant of an aware local wall-clock time: the first occurrence of an ambiguous
    time, the end of the gap for a time that does not exist."""
    tz = local.tzinfo
    assert tz is not None
    wall = local.replace(tzinfo=None, fold=0)
    earlier = local.replace(fold=0).astimezone(UTC)
    if earlier.astimezone(tz).replace(tzinfo=None) == wall:
        return earlier  # exists (fold=0 is the first of two occurrences)
    # In a gap: fold=1 reads it with the later offset (an instant before the change), fold=0
    # with the earlier offset (an instant after it). Find the change itself, to the second.
    lo = local.replace(fold=1).astimezone(UTC)
    hi = earlier
    after = hi.astimezone(tz).utcoffset()
    while (hi - lo) > timedelta(seconds=1):
        mid = lo + timedelta(seconds=int((hi - lo).total_seconds()) // 2)
        if mid.astimezone(tz).utcoffset() == after:
            hi = mid
        else:
            lo = mid
    return hi


def _local_instant(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The UTC instant of wall-clock ``minutes`` on local ``day`` (24:00 = next midnight)."""
    if minutes == 24 * 60:
        day, minutes = day + timedelta(days=1), 0
    return local_to_utc(datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz))


def window_interval(window: WeeklyWindow, day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The real (UTC) interval a weekly window covers on local ``day``."""
    return _local_instant(day, window.start, tz), _local_instant(day, window.end, tz)


def slots_between(availability: Availability, start: datetime, end: datetime) -> Iterator[Slot]:
    """Every slot (free or not) that starts in ``[start, end)``, in time order."""
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("slot bounds must be timezone-aware")
    tz = availability.tz
    step = timedelta(minutes=availability.slot_minutes)
    # Local days that may hold an instant of [start, end): a day either side covers any offset.
    first_day = start.astimezone(tz).date() - timedelta(days=1)
    last_day = end.astimezone(tz).date() + timedelta(days=1)
    by_weekday: dict[int, list[WeeklyWindow]] = {}
    for window in sorted(availability.weekly, key=lambda w: w.start):
        by_weekday.setdefault(window.weekday, []).append(window)
    out: list[Slot] = []
    day = first_day
    while day <= last_day:
        for window in by_weekday.get(day.weekday(), ()):
            w_start, w_end = window_interval(window, day, tz)
            cursor = w_start
            while cursor + step <= w_end:
                if start <= cursor < end:
                    out.append(Slot(cursor, cursor + step))
                cursor += step
        day += timedelta(days=1)
    yield from sorted(out)


def slot_at(availability: Availability, start: datetime) -> Slot | None:
    """The slot starting exactly at ``start``, if the availability has one."""
    for slot in slots_between(availability, start, start + timedelta(microseconds=1)):
        if slot.start == start:
            return slot
    return None


def local_slots_for_day(availability: Availability, day: date) -> list[tuple[str, Slot]]:
    """Slots of one local day with their wall-clock label (for tests and the demo)."""
    tz = availability.tz
    begin = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    finish = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return [
        (slot.start.astimezone(tz).strftime("%H:%M"), slot)
        for slot in slots_between(availability, begin, finish)
    ]
