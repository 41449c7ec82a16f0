"""REST endpoints of the follow-up gate: the doctor's eligibility decision and the patient's
informed consent to online care (PROTOCOL.md, "Online care only for follow-up visits")."""

from __future__ import annotations

from pydantic import BaseModel

from domain.text_consultations import is_text
from server import keys
from server.appointments.models import AppointmentEnvelope, AppointmentOut
from server.audit.recorder import audited
from server.follow_up.models import (
    ConsentIn,
    ConsentOut,
    ConsentText,
    EligibilityIn,
    OnlineCareConsentOut,
    ReferralIn,
    ReferralOut,
    ReferralsPage,
)
from server.follow_up.service import FollowUpService
from server.http.api import Api, Call
from server.records.items import Kind, list_route

api = Api()
TAGS = ["follow-up"]


def _service(call: Call) -> FollowUpService:
    return call.app[keys.FOLLOW_UPS]


@api.post(
    "/appointments/{appointment_id}/eligibility",
    summary="The doctor's decision: is this visit an eligible online follow-up?",
    tags=TAGS,
    body=EligibilityIn,
    response=AppointmentEnvelope,
    errors=[403, 409],
)
async def decide_eligibility(call: Call) -> AppointmentEnvelope:
    aid, body = call.path("appointment_id"), call.body(EligibilityIn)
    async with audited(
        call, "eligibility.decide", patient_id=None, resource_type="appointment", resource_id=aid
    ) as scope:

        async def end_waiting_room() -> None:  # a waiting patient hears it now, not at the sweep
            scope.details["ended_call"] = await call.app[keys.HUB].end_declined(aid)

        await _service(call).decide(
            call.principal,
            aid,
            eligible=body.eligible,
            reason=body.reason,
            before_cancel=end_waiting_room,
        )
        view = await call.app[keys.APPOINTMENTS].get(call.principal, aid)
        scope.patient_id = view.appointment.patient_id
        scope.details["eligible"] = body.eligible
    if is_text(view.appointment):  # no room to open or close: both sides hear it this way
        change = "confirmed" if body.eligible else "not_eligible"
        await call.app[keys.HUB].tell_text(view.appointment, change)
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


@api.get(
    "/consents/online-care",
    summary="The current informed consent to online care, in both languages",
    tags=TAGS,
    response=OnlineCareConsentOut,
    auth=False,
)
async def online_care_consent(call: Call) -> OnlineCareConsentOut:
    version, text = FollowUpService.consent_text()
    return OnlineCareConsentOut(
        version=version,
        text=ConsentText(en=text["en"], zh_CN=text["zh-CN"]),
        follow_up_only=_service(call).gate,
    )


@api.post(
    "/me/consents",
    summary="Accept a consent (the patient): kind online_care, its current version",
    tags=TAGS,
    body=ConsentIn,
    response=ConsentOut,
    status=201,
    errors=[403, 404],
)
async def accept_consent(call: Call) -> ConsentOut:
    body = call.body(ConsentIn)
    await _service(call).accept_consent(
        call.principal, kind=body.kind, version=body.version, patient_id=body.patient_id
    )
    return ConsentOut(kind=body.kind, version=body.version, patient_id=body.patient_id)


class ReferralCreated(BaseModel):
    referral: ReferralOut
    appointment: AppointmentOut | None = None


@api.post(
    "/appointments/{appointment_id}/referral",
    summary="Refer the patient to an offline visit (the appointment's doctor); ends the call",
    tags=TAGS,
    body=ReferralIn,
    response=ReferralCreated,
    status=201,
    errors=[403, 409],
)
async def refer_offline(call: Call) -> ReferralCreated:
    aid, body = call.path("appointment_id"), call.body(ReferralIn)
    async with audited(
        call, "referral.create", patient_id=None, resource_type="appointment", resource_id=aid
    ) as scope:
        referral, booked = await _service(call).refer(
            call.principal,
            aid,
            reason=body.reason,
            department=body.department,
            urgency=body.urgency,
            book=(body.book.doctor_id, body.book.start) if body.book else None,
        )
        scope.patient_id = referral.patient_id
        scope.details["referral_id"] = referral.id
        scope.details["ended_call"] = await call.app[keys.HUB].end_referred(aid)
    appointment = (
        AppointmentOut.of(await call.app[keys.APPOINTMENTS].get(call.principal, booked.id))
        if booked is not None
        else None
    )
    return ReferralCreated(referral=ReferralOut.of(referral), appointment=appointment)


list_route(
    api,
    Kind("referrals", "referral", ReferralOut.of),
    summary="A patient's referrals to offline visits, newest first",
    tags=TAGS,
    response=ReferralsPage,
    items=lambda repos: repos.referrals,
)
