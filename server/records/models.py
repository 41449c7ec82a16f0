"""Request, query and response models of the health record endpoints."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.pharmacy import Review, ReviewStatus, ReviewWarning, WarningCode
from domain.records import (
    Allergy,
    Author,
    Condition,
    ConditionStatus,
    Note,
    Prescription,
    PrescriptionStatus,
    Reminder,
    Severity,
    Vital,
)
from domain.reminders import MAX_DAYS, MAX_TIMES_PER_DAY, ReminderStatus
from domain.users import Role, User
from domain.vitals import SPECS, VitalType
from server.follow_up.models import ReferralOut
from server.http.pagination import MAX_LIMIT, PageQuery
from server.http.types import Day, DisplayLine, DisplayText, Instant, UtcDateTime

HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


# ---------------------------------------------------------------- shared


class AuthorOut(BaseModel):
    id: str
    role: Role

    @classmethod
    def of(cls, author: Author) -> AuthorOut:
        return cls(id=author.id, role=author.role)


class PatientOut(BaseModel):
    id: str
    name: str
    email: str = Field(description="empty for a family member without a sign-in of their own")
    timezone: str
    birth_date: date | None = None
    sex: str | None = None
    managed_by: str | None = Field(
        default=None, description="the account that manages this patient (a family member)"
    )
    relation: str | None = Field(default=None, description="what they are to that account")

    @classmethod
    def of(cls, user: User) -> PatientOut:
        return cls(
            id=user.id,
            name=user.name,
            email="" if user.managed_by is not None else user.email,
            timezone=user.timezone,
            birth_date=user.birth_date,
            sex=user.sex,
            managed_by=user.managed_by,
            relation=user.relation,
        )


class RangeQuery(PageQuery):
    from_: Instant | None = Field(default=None, alias="from", description="at or after")
    to: Instant | None = Field(default=None, description="before")


# ---------------------------------------------------------------- notes


class NoteIn(Strict):
    appointment_id: str = Field(min_length=1, max_length=64)
    text: DisplayText = Field(min_length=1, max_length=20_000)


class NoteOut(BaseModel):
    id: str
    patient_id: str
    appointment_id: str
    author: AuthorOut
    text: str
    created_at: UtcDateTime

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        return cls(
            id=note.id,
            patient_id=note.patient_id,
            appointment_id=note.appointment_id,
            author=AuthorOut.of(note.author),
            text=note.text,
            created_at=note.created_at,
        )


class NoteEnvelope(BaseModel):
    note: NoteOut


class NotesPage(BaseModel):
    notes: list[NoteOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------- vitals


class BloodPressure(Strict):
    systolic: float
    diastolic: float


class VitalIn(Strict):
    type: VitalType
    value: float | BloodPressure = Field(
        description="a number, or {systolic, diastolic} for blood_pressure"
    )
    unit: str = Field(
        min_length=1,
        max_length=16,
        description="UCUM code (or a common alias): "
        + "; ".join(f"{t.value}: {', '.join(s.units)}" for t, s in SPECS.items()),
    )
    measured_at: Instant
    appointment_id: str | None = Field(default=None, min_length=1, max_length=64)

    def raw_value(self) -> object:
        if isinstance(self.value, BloodPressure):
            return {"systolic": self.value.systolic, "diastolic": self.value.diastolic}
        return self.value


class BloodPressureOut(BaseModel):
    systolic: float
    diastolic: float


class VitalOut(BaseModel):
    id: str
    patient_id: str
    type: VitalType
    value: float | BloodPressureOut
    unit: str
    measured_at: UtcDateTime
    recorded_by: AuthorOut
    created_at: UtcDateTime
    appointment_id: str | None = None

    @classmethod
    def of(cls, vital: Vital) -> VitalOut:
        value: float | BloodPressureOut
        if vital.value is not None:
            value = vital.value
        else:
            value = BloodPressureOut(systolic=vital.systolic or 0, diastolic=vital.diastolic or 0)
        return cls(
            id=vital.id,
            patient_id=vital.patient_id,
            type=vital.type,
            value=value,
            unit=vital.unit,
            measured_at=vital.measured_at,
            recorded_by=AuthorOut.of(vital.recorded_by),
            created_at=vital.created_at,
            appointment_id=vital.appointment_id,
        )


class VitalEnvelope(BaseModel):
    vital: VitalOut


class VitalsQuery(RangeQuery):
    type: VitalType | None = Field(default=None, description="one type: adds a chart series")
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT * 5)


class SeriesPoint(BaseModel):
    measured_at: UtcDateTime
    vital_id: str
    value: float | None = None
    systolic: float | None = None
    diastolic: float | None = None


class Series(BaseModel):
    """One vital type as a chart draws it: oldest first, every point in one unit."""

    type: VitalType
    unit: str = Field(description="the canonical UCUM unit of the type")
    fields: list[Literal["value", "systolic", "diastolic"]]
    points: list[SeriesPoint]

    @classmethod
    def of(cls, vital_type: VitalType, vitals: list[Vital]) -> Series:
        bp = vital_type is VitalType.BLOOD_PRESSURE
        points = [
            SeriesPoint(
                measured_at=v.measured_at,
                vital_id=v.id,
                value=v.canonical.get("value"),
                systolic=v.canonical.get("systolic"),
                diastolic=v.canonical.get("diastolic"),
            )
            for v in vitals
        ]
        return cls(
            type=vital_type,
            unit=SPECS[vital_type].canonical_unit,
            fields=["systolic", "diastolic"] if bp else ["value"],
            points=points,
        )


class VitalsPage(BaseModel):
    vitals: list[VitalOut]
    series: Series | None = Field(default=None, description="present when type is given")
    next_cursor: str | None = None


# ---------------------------------------------------------------- allergies, conditions


class AllergyIn(Strict):
    substance: DisplayLine = Field(min_length=1, max_length=200)
    reaction: DisplayText | None = Field(default=None, min_length=1, max_length=500)
    severity: Severity | None = None


class AllergyOut(BaseModel):
    id: str
    patient_id: str
    substance: str
    reaction: str | None
    severity: Severity | None
    recorded_by: AuthorOut
    created_at: UtcDateTime

    @classmethod
    def of(cls, a: Allergy) -> AllergyOut:
        return cls(
            id=a.id,
            patient_id=a.patient_id,
            substance=a.substance,
            reaction=a.reaction,
            severity=a.severity,
            recorded_by=AuthorOut.of(a.recorded_by),
            created_at=a.created_at,
        )


class AllergyEnvelope(BaseModel):
    allergy: AllergyOut


class AllergiesPage(BaseModel):
    allergies: list[AllergyOut]
    next_cursor: str | None = None


class ConditionIn(Strict):
    name: DisplayLine = Field(min_length=1, max_length=200)
    code: str | None = Field(
        default=None, pattern=r"^[A-Z][0-9][0-9A-Z](\.[0-9A-Z]{1,4})?$", description="ICD-10"
    )
    status: ConditionStatus = ConditionStatus.ACTIVE
    onset_date: Day | None = None


class ConditionOut(BaseModel):
    id: str
    patient_id: str
    name: str
    code: str | None
    status: ConditionStatus
    onset_date: date | None
    recorded_by: AuthorOut
    created_at: UtcDateTime

    @classmethod
    def of(cls, c: Condition) -> ConditionOut:
        return cls(
            id=c.id,
            patient_id=c.patient_id,
            name=c.name,
            code=c.code,
            status=c.status,
            onset_date=c.onset_date,
            recorded_by=AuthorOut.of(c.recorded_by),
            created_at=c.created_at,
        )


class ConditionEnvelope(BaseModel):
    condition: ConditionOut


class ConditionsPage(BaseModel):
    conditions: list[ConditionOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------- prescriptions


class PrescriptionIn(Strict):
    appointment_id: str = Field(min_length=1, max_length=64)
    drug: DisplayLine | None = Field(
        default=None, min_length=1, max_length=200, description="may be omitted with drug_id"
    )
    drug_id: str | None = Field(default=None, min_length=1, max_length=64)
    quantity: int | None = Field(default=None, ge=1, le=100, description="packages")
    dose: DisplayLine = Field(min_length=1, max_length=200)
    times: list[str] = Field(min_length=1, max_length=MAX_TIMES_PER_DAY, examples=[["08:00"]])
    timezone: str | None = Field(
        default=None, min_length=1, max_length=64, description="default: the patient's"
    )
    start_date: Day
    days: int = Field(ge=1, le=MAX_DAYS)

    @field_validator("times")
    @classmethod
    def _times(cls, value: list[str]) -> list[str]:
        import re

        for item in value:
            if not re.match(HHMM, item):
                raise ValueError(f"{item!r} is not a time like 08:00")
        if len(set(value)) != len(value):
            raise ValueError("times repeat")
        return value


class WarningOut(BaseModel):
    code: WarningCode
    message: str = Field(description="in English")
    subject: str = Field(
        description="allergy: the substance; duplicate_therapy: the shared ingredients"
    )
    matched: str = Field(
        description="allergy: the drug name or ingredient it matched; duplicate_therapy: the "
        "drug already prescribed"
    )

    @classmethod
    def of(cls, warning: ReviewWarning) -> WarningOut:
        return cls(
            code=warning.code,
            message=warning.message,
            subject=warning.subject,
            matched=warning.matched,
        )


class PersonRef(BaseModel):
    id: str
    name: str


class ReviewOut(BaseModel):
    status: ReviewStatus
    pharmacist: PersonRef | None
    reviewed_at: UtcDateTime | None
    reason: str | None
    warnings: list[WarningOut]

    @classmethod
    def of(cls, r: Review) -> ReviewOut:
        return cls(
            status=r.status,
            pharmacist=PersonRef(id=r.pharmacist.id, name=r.pharmacist.name)
            if r.pharmacist
            else None,
            reviewed_at=r.reviewed_at,
            reason=r.reason,
            warnings=[WarningOut.of(w) for w in r.warnings],
        )


class PrescriptionOut(BaseModel):
    id: str
    patient_id: str
    doctor_id: str
    appointment_id: str
    drug: str
    dose: str
    times: list[str]
    timezone: str
    start_date: date
    days: int
    status: PrescriptionStatus
    created_at: UtcDateTime
    stopped_at: UtcDateTime | None = None
    drug_id: str | None = None
    quantity: int | None = None
    quantity_remaining: int | None = None
    review: ReviewOut | None = None

    @classmethod
    def of(cls, p: Prescription) -> PrescriptionOut:
        return cls(
            id=p.id,
            patient_id=p.patient_id,
            doctor_id=p.doctor_id,
            appointment_id=p.appointment_id,
            drug=p.drug,
            dose=p.dose,
            times=list(p.times),
            timezone=p.timezone,
            start_date=p.start_date,
            days=p.days,
            status=p.status,
            created_at=p.created_at,
            stopped_at=p.stopped_at,
            drug_id=p.drug_id,
            quantity=p.quantity,
            quantity_remaining=p.quantity_remaining,
            review=ReviewOut.of(p.review) if p.review else None,
        )


class PrescriptionEnvelope(BaseModel):
    prescription: PrescriptionOut
    reminders_created: int = Field(description="reminders scheduled (doses from now on)")


class PrescriptionStopped(BaseModel):
    prescription: PrescriptionOut
    reminders_cancelled: int


class PrescriptionsPage(BaseModel):
    prescriptions: list[PrescriptionOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------- reminders


class ReminderOut(BaseModel):
    id: str
    prescription_id: str
    patient_id: str
    drug: str
    dose: str
    due_at: UtcDateTime
    local_time: str
    timezone: str
    status: ReminderStatus
    taken_at: UtcDateTime | None
    notified_at: UtcDateTime | None

    @classmethod
    def of(cls, r: Reminder) -> ReminderOut:
        return cls(
            id=r.id,
            prescription_id=r.prescription_id,
            patient_id=r.patient_id,
            drug=r.drug,
            dose=r.dose,
            due_at=r.due_at,
            local_time=r.local_time,
            timezone=r.timezone,
            status=r.status,
            taken_at=r.taken_at,
            notified_at=r.notified_at,
        )


class ReminderEnvelope(BaseModel):
    reminder: ReminderOut


class RemindersQuery(RangeQuery):
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT * 5)


class RemindersPage(BaseModel):
    reminders: list[ReminderOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------- record, FHIR


class RecordOut(BaseModel):
    """The latest items of each kind (at most 50 each); the list endpoints page the rest."""

    patient: PatientOut
    notes: list[NoteOut]
    vitals: list[VitalOut]
    prescriptions: list[PrescriptionOut]
    allergies: list[AllergyOut]
    conditions: list[ConditionOut]
    referrals: list[ReferralOut]


class FhirEntry(BaseModel):
    fullUrl: str
    resource: dict[str, Any]


class FhirBundle(BaseModel):
    """A FHIR R4 Bundle (type collection); validated against the FHIR models in the tests."""

    resourceType: Literal["Bundle"]
    id: str
    meta: dict[str, Any]
    type: Literal["collection"]
    timestamp: str
    entry: list[FhirEntry]
