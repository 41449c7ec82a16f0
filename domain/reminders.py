"""Medication reminders: the schedule a prescription produces, and what a due reminder pushes.

Pure, no I/O. Times are the patient's wall-clock times ("08:00 and 20:00 in Asia/Shanghai");
each becomes a UTC instant through :func:`domain.availability.local_to_utc`, so a reminder keeps
its local hour across daylight-saving changes (a time inside a spring-forward gap fires at the
end of the gap; a repeated time fires once, at its first occurrence).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from domain.availability import local_to_utc

MAX_DAYS = 366
MAX_TIMES_PER_DAY = 12
# A dose may be marked taken from this long before it is due.
TAKE_EARLY = timedelta(hours=2)


class ReminderStatus(StrEnum):
    PENDING = "pending"  # not yet due, or due and not yet marked
    TAKEN = "taken"
    CANCELLED = "cancelled"  # its prescription was stopped


@dataclass(frozen=True, slots=True)
class ScheduledDose:
    due_at: datetime  # UTC
    local_date: date
    local_time: str  # "HH:MM" as prescribed


def schedule(*, times: list[int], tz: ZoneInfo, start_date: date, days: int) -> list[ScheduledDose]:
    """Every dose of ``days`` days from ``start_date``, at each of ``times`` (minutes since
    local midnight), in time order, without duplicates."""
    out: dict[datetime, ScheduledDose] = {}
    for offset in range(days):
        day = start_date + timedelta(days=offset)
        for minutes in sorted(set(times)):
            local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
            due = local_to_utc(local)
            out.setdefault(due, ScheduledDose(due, day, f"{minutes // 60:02d}:{minutes % 60:02d}"))
    return [out[key] for key in sorted(out)]


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A reminder that has fallen due and was claimed for pushing (``reminder:due``)."""

    reminder_id: str
    patient_id: str
    prescription_id: str
    drug: str
    dose: str
    due_at: datetime  # UTC
    local_time: str
    timezone: str
