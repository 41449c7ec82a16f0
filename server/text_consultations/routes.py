"""REST endpoints of text consultations (PROTOCOL.md, "Text consultations"). Booking one is
``POST /appointments`` with ``kind: "text"``; its messages are the chat's (``chat:send``,
``chat:history``, ``GET /appointments/{id}/messages``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from domain.users import Role
from server import keys
from server.appointments.models import AppointmentEnvelope, AppointmentOut
from server.audit.recorder import audited
from server.http.api import Api, Call
from server.text_consultations.service import TextConsultationService

api = Api()
TAGS = ["text consultations"]


class TextQueueOut(BaseModel):
    consultations: list[AppointmentOut] = Field(description="open ones, oldest question first")
    waiting: int = Field(description="not answered yet (the overdue included)")
    overdue: int = Field(description="not answered past their respond_by")
    in_progress: int


class TextCountsOut(BaseModel):
    waiting: int = Field(description="text consultations not answered yet")
    overdue: int = Field(description="of those, past their respond_by")
    in_progress: int


def _service(call: Call) -> TextConsultationService:
    return call.app[keys.TEXT_CONSULTATIONS]


@api.get(
    "/doctors/{doctor_id}/text_queue",
    summary="A doctor's text queue: open text consultations, oldest first, overdue marked",
    tags=TAGS,
    response=TextQueueOut,
    roles=[Role.DOCTOR, Role.ADMIN],
)
async def text_queue(call: Call) -> TextQueueOut:
    found = await _service(call).doctor_queue(call.principal, call.path("doctor_id"))
    return TextQueueOut(
        consultations=[AppointmentOut.of(v) for v in found.consultations],
        waiting=found.counts.waiting,
        overdue=found.counts.overdue,
        in_progress=found.counts.in_progress,
    )


@api.get(
    "/admin/text_consultations",
    summary="Text consultations of every doctor waiting, overdue and in progress (counts)",
    tags=["admin"],
    response=TextCountsOut,
    roles=[Role.ADMIN],
)
async def text_counts(call: Call) -> TextCountsOut:
    counts = await _service(call).counts()
    return TextCountsOut(
        waiting=counts.waiting, overdue=counts.overdue, in_progress=counts.in_progress
    )


@api.post(
    "/appointments/{appointment_id}/text/end",
    summary="End an answered text consultation (its doctor); write its summary as for a visit",
    tags=TAGS,
    response=AppointmentEnvelope,
    roles=[Role.DOCTOR],
    errors=[409],
)
async def end_text(call: Call) -> AppointmentEnvelope:
    appointment_id = call.path("appointment_id")
    async with audited(
        call, "text.end", patient_id=None, resource_type="appointment", resource_id=appointment_id
    ) as scope:
        view = await _service(call).end(call.principal, appointment_id)
        scope.patient_id = view.appointment.patient_id
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))


@api.post(
    "/appointments/{appointment_id}/text/video",
    summary="Turn an open text consultation into a video consultation starting now (its doctor)",
    tags=TAGS,
    response=AppointmentEnvelope,
    roles=[Role.DOCTOR],
    errors=[409],
)
async def text_to_video(call: Call) -> AppointmentEnvelope:
    appointment_id = call.path("appointment_id")
    async with audited(
        call,
        "text.video",
        patient_id=None,
        resource_type="appointment",
        resource_id=appointment_id,
    ) as scope:
        view = await _service(call).to_video(call.principal, appointment_id)
        scope.patient_id = view.appointment.patient_id
    return AppointmentEnvelope(appointment=AppointmentOut.of(view))
