"""How long the record is kept, and when something is past its period (pure, no I/O).

* A patient's **clinical record** (appointments, notes, vitals, allergies, conditions,
  prescriptions, reminders, documents, referrals, visit summaries, orders, consents, and the
  consultations' chat, recordings, recording consents and follow-ups with them: the full list is
  ``storage/retention.py``'s) is
  kept ``record_years`` (``TELEMED_RETENTION_YEARS``, 15) from the **last entry of the patient's
  record**: the latest date found anywhere in it (an appointment's end, a note, a vital's
  measurement, a reminder still due...). Like the Chinese rule for outpatient records (kept at
  least 15 years from the patient's last visit), a patient who keeps coming keeps the whole
  record; one who stopped has the whole record removed at once, never a part of it.
* A consultation's **process data** (chat messages and recordings: 过程资料) is kept
  ``process_years`` (``TELEMED_PROCESS_RETENTION_YEARS``, 3) from the **end of the
  consultation**: the latest of its scheduled end, its actual end, its last message and its
  recordings' stops.

Years are calendar years: ``years_before(2041-03-02, 15)`` is 2026-03-02; from 29 February the
day before is the 28th. Something is past its period when its last date is strictly before the
cutoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


def years_before(moment: datetime, years: int) -> datetime:
    try:
        return moment.replace(year=moment.year - years)
    except ValueError:  # 29 February in a year without one
        return moment.replace(year=moment.year - years, day=28)


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    record_years: int = 15
    process_years: int = 3

    def __post_init__(self) -> None:
        if self.record_years < 1 or self.process_years < 1:
            raise ValueError("retention periods are at least one year")

    def record_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.record_years)

    def process_cutoff(self, now: datetime) -> datetime:
        return years_before(now, self.process_years)


def past(last: datetime | None, cutoff: datetime) -> bool:
    """Whether something whose latest date is ``last`` is past the period ending at
    ``cutoff``. Nothing dated is never past (nothing to judge by: keep it)."""
    return last is not None and last < cutoff


def latest(*moments: datetime | None) -> datetime | None:
    known = [m for m in moments if m is not None]
    return max(known) if known else None
