"""Request and response models of the follow-up gate, the eligibility decision and consent."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.follow_up import Eligibility, EligibilityStatus, PriorDiagnosis, Referral, Urgency
from server.http.types import Day, DisplayLine, DisplayText, Instant, UtcDateTime

DocumentId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{24}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class PriorDiagnosisIn(_Strict):
    condition: DisplayLine = Field(min_length=1, max_length=200)
    diagnosed_on: Day
    institution: DisplayLine = Field(min_length=1, max_length=200)
    document_ids: list[str] = Field(
        default_factory=list,
        max_length=20,
        json_schema_extra={"items": {"pattern": "^[0-9a-f]{24}$"}},
    )

    def value(self) -> PriorDiagnosis:
        return PriorDiagnosis(
            condition=self.condition,
            diagnosed_on=self.diagnosed_on,
            institution=self.institution,
            document_ids=tuple(self.document_ids),
        )


class PriorDiagnosisOut(BaseModel):
    condition: str
    diagnosed_on: date
    institution: str
    document_ids: list[str]

    @classmethod
    def of(cls, prior: PriorDiagnosis) -> PriorDiagnosisOut:
        return cls(
            condition=prior.condition,
            diagnosed_on=prior.diagnosed_on,
            institution=prior.institution,
            document_ids=list(prior.document_ids),
        )


class EligibilityOut(BaseModel):
    status: EligibilityStatus
    by: str | None
    at: UtcDateTime | None
    reason: str | None

    @classmethod
    def of(cls, e: Eligibility) -> EligibilityOut:
        return cls(status=e.status, by=e.by, at=e.at, reason=e.reason)


class EligibilityIn(_Strict):
    eligible: bool
    reason: DisplayText | None = Field(default=None, max_length=1000)


class ConsentText(BaseModel):
    en: str
    zh_CN: str = Field(alias="zh-CN", serialization_alias="zh-CN")

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class OnlineCareConsentOut(BaseModel):
    version: str
    text: ConsentText
    # The clinic's setting TELEMED_FOLLOW_UP_ONLY: whether the booking page explains the rule.
    follow_up_only: bool


class ConsentIn(_Strict):
    kind: Literal["online_care"]
    version: str = Field(min_length=1, max_length=32)
    # A family member the caller manages: the consent is theirs, given by the caller.
    patient_id: str | None = Field(default=None, min_length=1, max_length=64)


class ConsentOut(BaseModel):
    kind: Literal["online_care"]
    version: str
    patient_id: str | None = None


class ReferralBookIn(_Strict):
    doctor_id: str = Field(min_length=1, max_length=64)
    start: Instant


class ReferralIn(_Strict):
    reason: DisplayText = Field(min_length=1, max_length=1000)
    department: DisplayLine | None = Field(default=None, min_length=1, max_length=200)
    urgency: Urgency = Urgency.ROUTINE
    book: ReferralBookIn | None = None


class ReferralOut(BaseModel):
    id: str
    appointment_id: str
    patient_id: str
    doctor_id: str
    reason: str
    department: str | None
    urgency: Urgency
    created_at: UtcDateTime
    booked_appointment_id: str | None

    @classmethod
    def of(cls, r: Referral) -> ReferralOut:
        return cls(
            id=r.id,
            appointment_id=r.appointment_id,
            patient_id=r.patient_id,
            doctor_id=r.doctor_id,
            reason=r.reason,
            department=r.department,
            urgency=r.urgency,
            created_at=r.created_at,
            booked_appointment_id=r.booked_appointment_id,
        )


class ReferralsPage(BaseModel):
    referrals: list[ReferralOut]
    next_cursor: str | None
