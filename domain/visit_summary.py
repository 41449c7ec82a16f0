"""The after-visit summary: what the doctor tells the patient at the end of a consultation
(diagnosis, advice, a follow-up plan), one per appointment, written by its doctor during the
call or after it (pure: no I/O, the time is given)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from domain.appointments import Appointment, AppointmentStatus
from domain.errors import Conflict, InvalidInput

DIAGNOSIS_MAX = 500
ADVICE_MAX = 4000
FOLLOW_UP_NOTE_MAX = 500
FOLLOW_UP_HORIZON = timedelta(days=366)
# A summary is written while the consultation runs and after it ended; not before it began.
WRITABLE = frozenset({AppointmentStatus.IN_PROGRESS, AppointmentStatus.COMPLETED})


@dataclass(frozen=True, slots=True)
class VisitSummary:
    appointment_id: str
    patient_id: str
    doctor_id: str
    diagnosis: str
    advice: str
    follow_up_date: date | None  # the suggested follow-up visit, None: no follow-up needed
    follow_up_note: str
    created_at: datetime
    updated_at: datetime


class SummaryNotWritable(Conflict):
    code = "summary_not_writable"
    title = "The summary is written during the consultation or after it"


def writable(appointment: Appointment) -> bool:
    """Whether its doctor may write the summary now (not before the visit began, nor for a
    visit that never happened: cancelled or a no-show)."""
    return appointment.status in WRITABLE


def follow_up_window(appointment: Appointment, patient_zone: tzinfo) -> tuple[date, date]:
    """The first and last day a follow-up may be suggested for: from the day after the visit,
    as a day in the patient's time zone (the calendar they book on), for a year."""
    visit_day = appointment.start.astimezone(patient_zone).date()
    return visit_day + timedelta(days=1), visit_day + FOLLOW_UP_HORIZON


def write_summary(
    appointment: Appointment,
    *,
    patient_zone: tzinfo,
    previous: VisitSummary | None,
    diagnosis: str,
    advice: str,
    follow_up_date: date | None,
    follow_up_note: str,
    now: datetime,
) -> VisitSummary:
    """The appointment's summary as its doctor writes it now (a new one or the next version)."""
    if not writable(appointment):
        raise SummaryNotWritable(f"the appointment is {appointment.status.value}")
    diagnosis, advice, follow_up_note = diagnosis.strip(), advice.strip(), follow_up_note.strip()
    if not diagnosis and not advice:
        raise InvalidInput("write a diagnosis or some advice")
    first, last = follow_up_window(appointment, patient_zone)
    if follow_up_date is not None and not first <= follow_up_date <= last:
        raise InvalidInput(
            f"the follow-up date must be from {first.isoformat()} to {last.isoformat()} "
            "(after the visit, in the patient's time zone, within a year)"
        )
    return VisitSummary(
        appointment_id=appointment.id,
        patient_id=appointment.patient_id,
        doctor_id=appointment.doctor_id,
        diagnosis=diagnosis,
        advice=advice,
        follow_up_date=follow_up_date,
        follow_up_note=follow_up_note,
        created_at=previous.created_at if previous is not None else now,
        updated_at=now,
    )
