"""REST endpoints of the follow-up gate: the doctor's eligibility decision and the patient's
informed consent to online care (PROTOCOL.md, "Online care only for follow-up visits")."""

from __future__ import annotations

from server import keys
from server.appointments.models import AppointmentEnvelope, AppointmentOut
from server.audit.recorder import audited
from server.follow_up.models import (
    ConsentIn,
    ConsentOut,
    ConsentText,
    EligibilityIn,
    OnlineCareConsentOut,
)
from server.follow_up.service import FollowUpService
from server.http.api import Api, Call

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
        await _service(call).decide(call.principal, aid, eligible=body.eligible, reason=body.reason)
        view = await call.app[keys.APPOINTMENTS].get(call.principal, aid)
        scope.patient_id = view.appointment.patient_id
        scope.details["eligible"] = body.eligible
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
        version=version, text=ConsentText(en=text["en"], zh_CN=text["zh-CN"])
    )


@api.post(
    "/me/consents",
    summary="Accept a consent (the patient): kind online_care, its current version",
    tags=TAGS,
    body=ConsentIn,
    response=ConsentOut,
    status=201,
    errors=[403],
)
async def accept_consent(call: Call) -> ConsentOut:
    body = call.body(ConsentIn)
    await _service(call).accept_consent(call.principal, kind=body.kind, version=body.version)
    return ConsentOut(kind=body.kind, version=body.version)
