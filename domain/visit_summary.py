"""The after-visit summary: what the doctor tells the patient at the end of a consultation
(diagnosis, advice, a follow-up plan), one per appointment, written by its doctor during the
call or after it (pure: no I/O, the time is given)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

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


def write_summary(
    appointment: Appointment,
    *,
    previous: VisitSummary | None,
    diagnosis: str,
    advice: str,
    follow_up_date: date | None,
    follow_up_note: str,
    now: datetime,
) -> VisitSummary:
    """The appointment's summary as its doctor writes it now (a new one or the next version)."""
    if appointment.status not in WRITABLE:
        raise SummaryNotWritable("the consultation has not started")
    diagnosis, advice, follow_up_note = diagnosis.strip(), advice.strip(), follow_up_note.strip()
    if not diagnosis and not advice:
        raise InvalidInput("write a diagnosis or some advice")
    visit_day = appointment.start.date()
    if follow_up_date is not None and not (
        visit_day < follow_up_date <= visit_day + FOLLOW_UP_HORIZON
    ):
        raise InvalidInput("the follow-up date must be after the visit and within a year")
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
