"""Request and response models of the after-visit summary."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from chat.models import AttachmentOut
from domain.visit_summary import ADVICE_MAX, DIAGNOSIS_MAX, FOLLOW_UP_NOTE_MAX, VisitSummary
from server.http.types import Day, DisplayText, UtcDateTime
from server.records.models import PrescriptionOut


class SummaryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    diagnosis: DisplayText = Field(default="", max_length=DIAGNOSIS_MAX)
    advice: DisplayText = Field(default="", max_length=ADVICE_MAX)
    follow_up_date: Day | None = Field(
        default=None, description="the suggested follow-up visit (null: none needed)"
    )
    follow_up_note: DisplayText = Field(default="", max_length=FOLLOW_UP_NOTE_MAX)


class SummaryOut(BaseModel):
    appointment_id: str
    patient_id: str
    doctor_id: str
    diagnosis: str
    advice: str
    follow_up_date: date | None
    follow_up_note: str
    created_at: UtcDateTime
    updated_at: UtcDateTime

    @classmethod
    def of(cls, s: VisitSummary) -> SummaryOut:
        return cls(
            appointment_id=s.appointment_id,
            patient_id=s.patient_id,
            doctor_id=s.doctor_id,
            diagnosis=s.diagnosis,
            advice=s.advice,
            follow_up_date=s.follow_up_date,
            follow_up_note=s.follow_up_note,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class VisitSummaryOut(BaseModel):
    appointment_id: str
    summary: SummaryOut | None = Field(description="null until the doctor writes it")
    prescriptions: list[PrescriptionOut] = Field(
        description="the prescriptions written in this visit, oldest first"
    )
    documents: list[AttachmentOut] = Field(
        default_factory=list,
        description="the documents shared in this visit's chat, first shared first, each once",
    )
    writable: bool = Field(
        default=True,
        description="its doctor may write the summary now (false before the visit began, and "
        "for a cancelled or missed visit)",
    )
    follow_up_from: date | None = Field(
        default=None,
        description="the first follow-up date accepted: the day after the visit in the "
        "patient's time zone",
    )
    follow_up_until: date | None = Field(
        default=None, description="the last follow-up date accepted (a year after the visit)"
    )


class PdfQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lang: Literal["zh", "en"] = "zh"


class DoctorRef(BaseModel):
    id: str
    name: str


class PatientSummaryOut(BaseModel):
    """One visit's summary in the patient's list."""

    appointment_id: str
    visit_start: UtcDateTime
    doctor: DoctorRef
    summary: SummaryOut


class PatientSummariesOut(BaseModel):
    summaries: list[PatientSummaryOut] = Field(description="newest first")
