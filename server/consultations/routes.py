"""Consultation REST endpoints (PROTOCOL.md): the transcript, and the admins' live rooms."""

from __future__ import annotations

from chat.transcripts import ReadContext
from domain.errors import NotFound
from domain.users import Role
from domain.wait_estimate import RECENT, estimate_wait
from server import keys
from server.audit.recorder import audited
from server.consultations.models import (
    DoctorRoomsOut,
    MessageOut,
    MessagesOut,
    MessagesQuery,
    QueueOut,
    RoomsOut,
)
from server.consultations.queue import current_consultation_start, doctor_rooms, queue_place
from server.http.api import Api, Call
from signaling.models import RoomSummary, RoomView

api = Api()


@api.get(
    "/appointments/{appointment_id}/messages",
    summary="The consultation's chat transcript (its two participants only)",
    tags=["consultations"],
    query=MessagesQuery,
    response=MessagesOut,
)
async def list_messages(call: Call) -> MessagesOut:
    query = call.query(MessagesQuery)
    messages = await call.app[keys.TRANSCRIPTS].read(
        call.principal,
        call.path("appointment_id"),
        after_seq=query.after_seq,
        limit=query.limit,
        context=ReadContext(via="rest", request_id=call.request_id, client_ip=call.client_ip),
    )
    return MessagesOut(messages=[MessageOut.of(m) for m in messages])


@api.get(
    "/admin/rooms",
    summary="Every active consultation room of the deployment",
    tags=["admin"],
    response=RoomsOut,
    roles=[Role.ADMIN],
)
async def list_rooms(call: Call) -> RoomsOut:
    rooms = await call.app[keys.HUB].rooms()
    return RoomsOut(rooms=[RoomSummary.of(r) for r in rooms])


@api.post(
    "/admin/rooms/{appointment_id}/close",
    summary="Close a consultation room for both participants",
    tags=["admin"],
    status=204,
    roles=[Role.ADMIN],
)
async def close_room(call: Call) -> None:
    hub = call.app[keys.HUB]
    appointment_id = call.path("appointment_id")
    room = await hub.room(appointment_id)
    async with audited(
        call,
        "consultation.close",
        patient_id=room.patient.id if room is not None else None,
        resource_type="appointment",
        resource_id=appointment_id,
    ) as scope:
        closed = await hub.close_room(appointment_id)
        scope.details["status"] = closed.status.value


@api.get(
    "/doctors/{doctor_id}/rooms",
    summary="A doctor's open consultation rooms, for the clinic console's waiting list",
    tags=["consultations"],
    response=DoctorRoomsOut,
    roles=[Role.DOCTOR, Role.ADMIN],
)
async def list_doctor_rooms(call: Call) -> DoctorRoomsOut:
    doctor_id = call.path("doctor_id")
    if not call.principal.is_admin and call.principal.user_id != doctor_id:
        raise NotFound("no such doctor")
    rooms = doctor_rooms(await call.app[keys.HUB].rooms(), doctor_id)
    return DoctorRoomsOut(rooms=[RoomView.of(r) for r in rooms])


@api.get(
    "/appointments/{appointment_id}/queue",
    summary="The patient's place in the doctor's waiting room",
    tags=["consultations"],
    response=QueueOut,
)
async def queue(call: Call) -> QueueOut:
    view = await call.app[keys.APPOINTMENTS].get(call.principal, call.path("appointment_id"))
    appointment = view.appointment
    if not await call.app[keys.DATABASE].repos.users.party_to(call.principal.user_id, appointment):
        raise NotFound("no such appointment")  # admins see appointments, not waiting rooms
    rooms = await call.app[keys.HUB].rooms()
    place = queue_place(rooms, appointment.id, appointment.doctor_id)
    estimate = None
    if place.position is not None:
        lengths = await call.app[keys.DATABASE].repos.appointments.recent_consultation_lengths(
            appointment.doctor_id, limit=RECENT
        )
        estimate = estimate_wait(
            ahead=place.position - 1,
            durations=lengths,
            in_progress_since=current_consultation_start(
                rooms, appointment.id, appointment.doctor_id
            ),
            now=call.app[keys.CLOCK](),
        )
    return QueueOut(
        appointment_id=appointment.id,
        position=place.position,
        waiting=place.waiting,
        doctor_busy=place.doctor_busy,
        waiting_since=place.waiting_since,
        estimated_wait_seconds=None if estimate is None else int(estimate.wait.total_seconds()),
        wait_from_history=estimate is not None and estimate.from_history,
    )
