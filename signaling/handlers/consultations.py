"""The consultation's own events: ``consult:join``, ``consult:admit``, ``consult:leave``,
``consult:end``, ``consult:ice_servers`` and ``consult:waiting_message``, and a room's ending
(the doctor's ``consult:end``, an admin's close, a referral or a declined follow-up over REST,
the sweep).

Each handler maps (connection, payload) to its ack, and hands what else it does to the outbox
(``signaling/outbox.py``): events to sockets and Socket.IO rooms, sockets into and out of rooms,
room changes to publish. The rules themselves are the consultation service's
(``signaling/consultations.py``) and the domain's; nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import structlog

from domain.clock import Clock, iso_z
from domain.consultation import (
    GuestState,
    InAnotherConsultation,
    Joined,
    NoRoom,
    Room,
    SeatState,
    WaitingNote,
)
from domain.errors import Forbidden
from domain.family import check_guardian_present
from domain.recording import RecordingState
from domain.users import Role, User
from signaling.acks import Received
from signaling.consultations import Caller
from signaling.gateway import Connection
from signaling.handlers.seating import RoomReader, admitted, take_seat
from signaling.ice import IceSource, ice_servers_for, ice_transport_policy
from signaling.models import AppointmentIn, WaitingMessageIn, room_view
from signaling.outbox import Outbox
from signaling.registry import Updated
from signaling.socket_rooms import consult_room, user_room

log = structlog.get_logger(__name__)

WAITING_MESSAGE = "consult:waiting_message"


class Consultations(Protocol):
    """What the handlers ask of the consultation service (``ConsultationService``)."""

    @property
    def registry(self) -> RoomReader: ...

    async def join(self, caller: Caller, appointment_id: str) -> Updated[Joined]: ...

    async def admit(self, caller: Caller, appointment_id: str) -> Updated[None]: ...

    async def leave(self, caller: Caller, appointment_id: str) -> Updated[None]: ...

    async def end(self, caller: Caller, appointment_id: str) -> Updated[None]: ...

    async def close(self, appointment_id: str) -> Updated[None]: ...

    async def room_for(self, sid: str, appointment_id: str) -> Room: ...

    async def check_not_over(self, user_id: str, appointment_id: str) -> None: ...

    async def note_waiting(
        self, sid: str, appointment_id: str, text: str
    ) -> Updated[WaitingNote]: ...


class FollowUpChecks(Protocol):
    """The follow-up-only rule (``signaling/follow_up_gate.py``)."""

    async def check_join(self, user_id: str, appointment_id: str) -> None: ...

    async def check_admit(self, appointment_id: str) -> None: ...


class Patients(Protocol):
    """The users repository: a patient's birth date and who manages them."""

    async def get(self, user_id: str) -> User | None: ...


# ``recording:state`` to one socket (the hub's, over the recording coordinator's view).
RecordingStateTo = Callable[[Room, str], Awaitable[None]]
# ``guest.leave`` and the like in the audit log (``signaling/handlers/guests.py``).
GuestAudit = Callable[[str, Room, str, Connection], Awaitable[None]]
# Told the appointment's id; must not block (the server runs it in the background).
PatientAway = Callable[[str], None]


class ConsultationHandlers:
    """``patient_away``: told the appointment's id when its doctor joins (or admits) while the
    patient's consultation page is not open (no connected seat); the server sends "your doctor
    is ready" by e-mail and SMS. ``recording_state``: None when recording is not enabled.
    ``sockets``: this node's sockets (the ones told a room ended are no longer joined)."""

    def __init__(
        self,
        *,
        consult: Consultations,
        outbox: Outbox,
        follow_up: FollowUpChecks,
        patients: Patients,
        audit_guest: GuestAudit,
        sockets: Mapping[str, Connection],
        clock: Clock,
        ice: IceSource | None = None,
        under_six_guardian: bool = False,
        patient_away: PatientAway | None = None,
        recording_state: RecordingStateTo | None = None,
    ) -> None:
        self._consult = consult
        self._outbox = outbox
        self._follow_up = follow_up
        self._patients = patients
        self._audit_guest = audit_guest
        self._sockets = sockets
        self._clock = clock
        self._ice = ice
        self._under_six_guardian = under_six_guardian
        self._patient_away = patient_away
        self._recording_state = recording_state

    # ------------------------------------------------------------------ events

    async def join(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        appointment_id = payload.appointment_id
        if conn.appointment_id is not None and conn.appointment_id != appointment_id:
            current = await self._consult.registry.get(conn.appointment_id)
            if current is not None and current.seat_of_sid(conn.sid) is not None:
                raise InAnotherConsultation("leave the current consultation first")
            await self._outbox.leave(conn.sid, consult_room(conn.appointment_id))
            conn.appointment_id = None
        await self._follow_up.check_join(conn.user_id, appointment_id)
        update = await self._consult.join(conn.caller(), appointment_id)
        joined = update.result
        room = await take_seat(
            self._outbox, self._consult.registry, conn, appointment_id, update, joined.replaced_sid
        )
        if self._recording_state is not None and room.recording != RecordingState():
            await self._recording_state(room, conn.sid)
        if joined.role is Role.DOCTOR:
            patient = room.seat_of_user(room.patient.id)
            if patient is None or not patient.connected:  # the doctor is ready; they are not here
                self._tell_patient_away(appointment_id)
        return {
            "role": joined.role.value,
            "state": joined.state.value,
            "room": room_view(room),
            "ice_servers": ice_servers_for(
                self._ice, conn.user_id, admitted=joined.state is SeatState.ADMITTED
            ),
            "ice_transport_policy": ice_transport_policy(self._ice),
        }

    async def admit(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        try:
            conn.require_joined(payload.appointment_id)
            await self._follow_up.check_admit(payload.appointment_id)
            await self._guardian_admit(conn, payload.appointment_id)
            update = await self._consult.admit(conn.caller(), payload.appointment_id)
            room = update.after
            if room is None:
                raise Forbidden("this consultation is closed")
        except Forbidden:
            # No seat (any more): the appointment may have been cancelled or finished
            # meanwhile, and its room closed by the sweep; its doctor is told so.
            await self._consult.check_not_over(conn.user_id, payload.appointment_id)
            raise
        await self._outbox.publish(update)
        patient = room.seat_of_user(room.patient.id)
        if patient is not None and patient.sid is not None:
            await self._outbox.emit(
                "consult:admitted",
                admitted(room.appointment_id, room_view(room), self._ice, patient.user_id),
                to=patient.sid,
            )
        else:  # the patient's socket went between the admission and now
            self._tell_patient_away(room.appointment_id)
        return {"room": room_view(room)}

    async def leave(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        conn.require_joined(payload.appointment_id)
        update = await self._consult.leave(conn.caller(), payload.appointment_id)
        conn.appointment_id = None
        await self._outbox.leave(conn.sid, consult_room(payload.appointment_id))
        await self._outbox.publish(update)
        if conn.guest is not None and update.before is not None:
            await self._audit_guest("guest.leave", update.before, conn.guest.guest_id, conn)
        return {}

    async def end(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        conn.require_joined(payload.appointment_id)
        update = await self._consult.end(conn.caller(), payload.appointment_id)
        await self.finish(update, "consult:ended", "completed")  # unjoins this socket too
        return {}

    async def ice_servers(
        self, conn: Connection, payload: AppointmentIn, _: Received
    ) -> dict[str, Any]:
        """Fresh ICE servers for a joined socket: TURN credentials (a new lifetime) once
        admitted, the static list while waiting. The call page asks before its credentials
        expire, so that a connection made or restarted late in a long call is not refused."""
        conn.require_joined(payload.appointment_id)
        room = await self._consult.room_for(conn.sid, payload.appointment_id)
        guest = room.guest_of_sid(conn.sid)
        if guest is not None:
            admitted = guest.state is GuestState.ADMITTED
        else:
            admitted = room.require_seat(conn.sid).state is SeatState.ADMITTED
        return {
            "ice_servers": ice_servers_for(self._ice, conn.user_id, admitted=admitted),
            "ice_transport_policy": ice_transport_policy(self._ice),
        }

    async def waiting_message(
        self, conn: Connection, payload: WaitingMessageIn, _: Received
    ) -> dict[str, Any]:
        """The waiting patient's message: kept with the room (``waiting_message`` in
        ``consult:state``, so a console opened later shows it) and relayed to their doctor's
        open sockets."""
        conn.require_joined(payload.appointment_id)
        update = await self._consult.note_waiting(conn.sid, payload.appointment_id, payload.text)
        await self._outbox.publish(update)
        room, note = update.after, update.result
        assert room is not None
        patient = room.seat_of_user(room.patient.id)
        sent_at = iso_z(note.sent_at)
        await self._outbox.emit(
            WAITING_MESSAGE,
            {
                "appointment_id": room.appointment_id,
                "patient": {"id": room.patient.id, "name": patient.name if patient else ""},
                "text": note.text,
                "sent_at": sent_at,
            },
            to=user_room(room.doctor.id),
        )
        return {"sent_at": sent_at}

    # ------------------------------------------------------------------ a room ends

    async def close_room(self, appointment_id: str) -> Room:
        """An admin closes a room (REST): both participants get ``consult:closed``. Returns
        the room as it was."""
        update = await self._consult.close(appointment_id)
        await self.finish(update, "consult:closed", "closed_by_admin")
        assert update.before is not None
        return update.before

    async def end_referred(self, appointment_id: str) -> bool:
        """The doctor referred the patient offline (REST): a running consultation ends for
        both with ``consult:ended`` ``{reason: "referred_offline"}``. False: no room."""
        try:
            update = await self._consult.close(appointment_id)
        except NoRoom:
            return False
        await self.finish(update, "consult:ended", "referred_offline")
        return True

    async def end_declined(self, appointment_id: str) -> bool:
        """The doctor declined the online follow-up (REST; the appointment is cancelled): a
        patient waiting in its room gets ``consult:closed`` ``{reason: "not_eligible"}`` at
        once. False: no room."""
        try:
            update = await self._consult.close(appointment_id)
        except NoRoom:
            return False
        await self.finish(update, "consult:closed", "not_eligible")
        return True

    async def finish(self, update: Updated[Any], event: str, reason: str) -> None:
        """A room that went (``update``): its sockets are told ``event`` with ``reason`` and
        leave its Socket.IO room, then the change is published."""
        room = update.before
        if room is None:
            return
        appointment_id = room.appointment_id
        # This node's sockets of the room are no longer joined, from before anything awaits:
        # the housekeeping loop, running meanwhile, would otherwise find them joined to a room
        # that is gone and tell them ``consult:seat_lost``, which asks them to join again.
        for conn in self._sockets.values():
            if conn.appointment_id == appointment_id:
                conn.appointment_id = None
        notice = {"appointment_id": appointment_id, "reason": reason}
        await self._outbox.emit(event, notice, to=consult_room(appointment_id))
        await self._outbox.close(consult_room(appointment_id))
        await self._outbox.publish(update)

    # ------------------------------------------------------------------ rules

    async def _guardian_admit(self, conn: Connection, appointment_id: str) -> None:
        """Under six, a guardian present: the patient's seat must be held by the account that
        manages them (409 ``guardian_required`` otherwise)."""
        if not self._under_six_guardian:
            return
        room = await self._consult.room_for(conn.sid, appointment_id)
        patient = await self._patients.get(room.patient.id)
        if patient is None:
            return
        seat = room.seat_of_user(room.patient.id)
        holder = None
        if seat is not None and seat.connected:
            holder = seat.proxy.user_id if seat.proxy is not None else seat.user_id
        check_guardian_present(
            rule=True,
            birth_date=patient.birth_date,
            managed_by=patient.managed_by,
            seat_held_by=holder,
            today=self._clock().date(),
        )

    def _tell_patient_away(self, appointment_id: str) -> None:
        if self._patient_away is None:
            return
        try:
            self._patient_away(appointment_id)
        except Exception as exc:  # telling them is best effort; the join or admission stands
            log.warning("patient_away_hook_failed", error=repr(exc))
