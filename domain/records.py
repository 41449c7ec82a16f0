"""The health record of one patient: notes, vitals, allergies, conditions, prescriptions and
the medication reminders they produce. Plain data, no I/O.

Who may read or write it (the rule the records service enforces; a caller it refuses gets
``NotFound``, exactly as if the patient did not exist):

* the patient, their own record;
* a doctor who has an appointment with the patient that was not cancelled;
* nobody else (admins included: they manage accounts and rooms, not clinical content).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.pharmacy import Review
from domain.reminders import ReminderStatus
from domain.users import Role
from domain.vitals import VitalType


@dataclass(frozen=True, slots=True)
class Author:
    id: str
    role: Role


@dataclass(frozen=True, slots=True)
class Note:
    id: str
    patient_id: str
    appointment_id: str
    author: Author
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Vital:
    id: str
    patient_id: str
    type: VitalType
    unit: str  # UCUM code, as given (after aliases)
    value: float | None  # every type but blood pressure
    systolic: float | None  # blood pressure only
    diastolic: float | None
    canonical: dict[str, float]  # in the type's canonical unit
    measured_at: datetime
    recorded_by: Author
    created_at: datetime
    appointment_id: str | None = None


class Severity(StrEnum):
    MILD = "mild"
    MODERATE = "moderate"
    SEVERE = "severe"


@dataclass(frozen=True, slots=True)
class Allergy:
    id: str
    patient_id: str
    substance: str
    reaction: str | None
    severity: Severity | None
    recorded_by: Author
    created_at: datetime


class ConditionStatus(StrEnum):
    ACTIVE = "active"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class Condition:
    id: str
    patient_id: str
    name: str
    code: str | None  # e.g. an ICD-10 code, as the doctor wrote it
    status: ConditionStatus
    onset_date: date | None
    recorded_by: Author
    created_at: datetime


class PrescriptionStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    PENDING_REVIEW = "pending_review"  # waits for a pharmacist (TELEMED_PRESCRIPTION_REVIEW)
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class Prescription:
    id: str
    patient_id: str
    doctor_id: str
    appointment_id: str
    drug: str
    dose: str
    times: tuple[str, ...]  # "HH:MM", the patient's wall clock
    timezone: str
    start_date: date
    days: int
    status: PrescriptionStatus
    created_at: datetime
    stopped_at: datetime | None = None
    # From the drug catalogue (PROTOCOL "Prescriptions that a pharmacist reviews"); a free-text
    # prescription has none of them.
    drug_id: str | None = None
    quantity: int | None = None  # packages
    quantity_remaining: int | None = None  # packages not yet bought
    review: Review | None = None


@dataclass(frozen=True, slots=True)
class Reminder:
    id: str
    prescription_id: str
    patient_id: str
    drug: str
    dose: str
    due_at: datetime
    local_time: str
    timezone: str
    status: ReminderStatus
    taken_at: datetime | None
    notified_at: datetime | None
