"""``POST /doctors/{doctor_id}/running-late``: the doctor tells everyone waiting for them that
they are running late (Socket.IO ``consult:running_late`` to each waiting patient's sockets,
on any node). Rate-limited per doctor; audited when it carries a message (the entry names no
text: it may be about a patient)."""

from __future__ import annotations

from typing import Any

from limits import parse

from domain.errors import NotFound
from domain.users import Role
from server import keys
from server.audit.recorder import audited
from server.consultations.queue import doctor_rooms
from server.http.api import Api, Call
from server.waiting.models import RunningLateIn, RunningLateOut

api = Api()

# Three notices per ten minutes per doctor: enough to correct one, too few to spam a room.
RUNNING_LATE_LIMIT = parse("3 per 10 minutes")
EVENT = "consult:running_late"


@api.post(
    "/doctors/{doctor_id}/running-late",
    summary="Tell every patient waiting for this doctor that they are running late (doctor)",
    tags=["consultations"],
    body=RunningLateIn,
    response=RunningLateOut,
    roles=[Role.DOCTOR],
    errors=[429],
)
async def running_late(call: Call) -> RunningLateOut:
    doctor_id = call.path("doctor_id")
    if call.principal.user_id != doctor_id:
        raise NotFound("no such doctor")
    body = call.body(RunningLateIn)
    # Counted (atomically, shared by the nodes when there is Redis) before anything is sent.
    await call.app[keys.RATE_LIMITER].hit(RUNNING_LATE_LIMIT, "running-late", doctor_id)
    hub = call.app[keys.HUB]
    waiting = [r for r in doctor_rooms(await hub.rooms(), doctor_id) if r.patient_waiting]
    now = call.app[keys.CLOCK]()
    payload: dict[str, Any] = {
        "doctor_id": doctor_id,
        "doctor_name": waiting[0].doctor.name if waiting else "",
        "minutes": body.minutes,
        "message": body.message,
        "sent_at": now.isoformat().replace("+00:00", "Z"),
    }

    async def send() -> None:
        for room in waiting:
            await hub.push_to_user(
                room.patient.id, EVENT, {**payload, "appointment_id": room.appointment_id}
            )

    if body.message is None:
        await send()
    else:
        async with audited(
            call, "waiting.running_late", patient_id=None, resource_type="waiting_room"
        ) as scope:
            scope.details = {"patients": len(waiting)}
            await send()
    return RunningLateOut(notified=len(waiting), sent_at=now)
