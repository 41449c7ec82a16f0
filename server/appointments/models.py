"""Request, query and response models of doctors, availability, slots and appointments."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.availability import END_OF_DAY, MAX_SLOT_MINUTES, MAX_WINDOWS, MIN_SLOT_MINUTES
from domain.follow_up import VisitType
from server.appointments.calendar import Language
from server.appointments.service import AppointmentView
from server.follow_up.models import EligibilityOut, PriorDiagnosisIn, PriorDiagnosisOut
from server.http.pagination import MAX_LIMIT, PageQuery
from server.http.types import DisplayText, Instant, UtcDateTime

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"
HHMM_OR_END = r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$"
ID = Field(min_length=1, max_length=64)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# ---------------------------------------------------------------------------- doctors


class DoctorsQuery(PageQuery):
    specialty: str | None = Field(default=None, min_length=1, max_length=80)
    q: str | None = Field(default=None, min_length=1, max_length=80, description="name contains")


class DoctorOut(BaseModel):
    id: str
    name: str
    specialty: str | None


class DoctorsPage(BaseModel):
    doctors: list[DoctorOut]
    next_cursor: str | None = None


class WindowIn(Strict):
    weekday: int = Field(ge=0, le=6, description="Monday=0 ... Sunday=6")
    start: str = Field(pattern=HHMM, examples=["09:00"])
    end: str = Field(
        pattern=HHMM_OR_END, examples=["12:00"], description=f"{END_OF_DAY} = midnight"
    )


class AvailabilityIn(Strict):
    timezone: str = Field(min_length=1, max_length=64, examples=["Asia/Shanghai"])
    slot_minutes: int = Field(ge=MIN_SLOT_MINUTES, le=MAX_SLOT_MINUTES)
    weekly: list[WindowIn] = Field(max_length=MAX_WINDOWS)


class WindowOut(BaseModel):
    weekday: int
    start: str
    end: str


class AvailabilityOut(BaseModel):
    doctor_id: str
    timezone: str
    slot_minutes: int
    weekly: list[WindowOut]


class SlotsQuery(PageQuery):
    from_: Instant | None = Field(default=None, alias="from", description="default: now")
    to: Instant | None = Field(default=None, description="default: from + 7 days; at most 62")
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT * 2)


class SlotOut(BaseModel):
    start: UtcDateTime
    end: UtcDateTime


class SlotsPage(BaseModel):
    slots: list[SlotOut]
    timezone: str = Field(description="the doctor's time zone, for showing local times")
    next_cursor: str | None = None


# ---------------------------------------------------------------------------- appointments


class BookIn(Strict):
    doctor_id: str = ID
    start: Instant | None = Field(
        default=None, description="one of the doctor's free slots; none for kind text"
    )
    kind: AppointmentKind
    reason: DisplayText = Field(default="", max_length=1000)
    visit_type: VisitType | None = None
    prior_diagnosis: PriorDiagnosisIn | None = None
    # For a family member the caller manages (their id); default: the caller.
    patient_id: str | None = Field(default=None, min_length=1, max_length=64)


class CancelIn(Strict):
    reason: DisplayText | None = Field(default=None, max_length=1000)


class AppointmentsQuery(PageQuery):
    status: AppointmentStatus | None = None
    from_: Instant | None = Field(default=None, alias="from", description="start at or after")
    to: Instant | None = Field(default=None, description="start before")
    patient_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="one patient's: the caller or a family member they manage",
    )


class PersonOut(BaseModel):
    id: str
    name: str


class AppointmentPatientOut(PersonOut):
    """The patient; for a family member (shown to the appointment's parties only) also who
    manages them, what they are to that account, and their date of birth."""

    managed_by: PersonOut | None = None
    relation: str | None = None
    birth_date: date | None = None


class AppointmentDoctorOut(PersonOut):
    specialty: str | None


def _patient_out(view: AppointmentView) -> PersonOut | AppointmentPatientOut:
    """``{id, name}`` as always; a family member's adds who manages them (for its parties)."""
    patient, holder = view.patient, view.holder
    pid, name = view.appointment.patient_id, patient.name if patient else ""
    if patient is None or holder is None or not view.show_reason:
        return PersonOut(id=pid, name=name)
    return AppointmentPatientOut(
        id=pid,
        name=name,
        managed_by=PersonOut(id=holder.id, name=holder.name),
        relation=patient.relation,
        birth_date=patient.birth_date,
    )


class AppointmentOut(BaseModel):
    id: str
    patient: AppointmentPatientOut | PersonOut
    doctor: AppointmentDoctorOut
    start: UtcDateTime
    end: UtcDateTime
    kind: AppointmentKind
    reason: str | None = Field(description="null for callers who may not read it (admins)")
    status: AppointmentStatus
    created_at: UtcDateTime
    updated_at: UtcDateTime
    waiting_since: UtcDateTime | None = None
    started_at: UtcDateTime | None = None
    ended_at: UtcDateTime | None = None
    cancelled_by: str | None = None
    cancel_reason: str | None = None
    visit_type: VisitType | None = None
    prior_diagnosis: PriorDiagnosisOut | None = None
    eligibility: EligibilityOut | None = None
    respond_by: UtcDateTime | None = Field(
        default=None, description="kind text: when the doctor answers by"
    )
    overdue: bool = Field(default=False, description="kind text: still unanswered past respond_by")
    converted_at: UtcDateTime | None = Field(
        default=None, description="when a text consultation became this video consultation"
    )

    @classmethod
    def of(cls, view: AppointmentView) -> AppointmentOut:
        a, f = view.appointment, view.follow_up
        return cls(
            visit_type=f.visit_type if f else None,
            prior_diagnosis=(
                PriorDiagnosisOut.of(f.prior) if f and f.prior and view.show_reason else None
            ),
            eligibility=EligibilityOut.of(f.eligibility) if f and f.eligibility else None,
            id=a.id,
            patient=_patient_out(view),
            doctor=AppointmentDoctorOut(
                id=a.doctor_id,
                name=view.doctor.name if view.doctor else "",
                specialty=view.doctor.specialty if view.doctor else None,
            ),
            start=a.start,
            end=a.end,
            kind=a.kind,
            reason=a.reason if view.show_reason else None,
            status=a.status,
            created_at=a.created_at,
            updated_at=a.updated_at,
            waiting_since=a.waiting_since,
            started_at=a.started_at,
            ended_at=a.ended_at,
            cancelled_by=a.cancelled_by,
            cancel_reason=a.cancel_reason if view.show_reason else None,
            respond_by=a.respond_by,
            overdue=view.overdue,
            converted_at=a.converted_at,
        )


class AppointmentEnvelope(BaseModel):
    appointment: AppointmentOut


class AppointmentsPage(BaseModel):
    appointments: list[AppointmentOut]
    next_cursor: str | None = None


class CalendarQuery(BaseModel):
    lang: Language | None = Field(
        default=None, description="the file's language; default: the request's Accept-Language"
    )
