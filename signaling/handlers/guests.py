"""An invited guest in a consultation (an interpreter, a family member, a colleague):
``guest:join`` (the guest's own), ``guest:admit`` and ``guest:remove`` (the doctor's), and what
they leave behind: an audit entry for each (``guest.join``, ``guest.admit``, ``guest.remove``,
and ``guest.leave`` from ``consult:leave``), a transcript line when the doctor admits or
removes a guest, and a removed guest's invitation revoked.

Each handler maps (connection, payload) to its ack and hands what else it does to the outbox
(``signaling/outbox.py``); the room's rules are ``domain.consultation``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from chat.service import SendResult
from domain.audit import AuditEntry, Outcome
from domain.chat import GuestNote, Sender
from domain.clock import Clock
from domain.consultation import GuestJoined, GuestSeat, GuestState, Room
from domain.errors import Forbidden
from domain.guests import Invite, InviteStatus, check_guest_pass
from domain.ids import AppointmentId
from domain.users import Role
from signaling.acks import Received
from signaling.consultations import Caller, GuestCaller
from signaling.gateway import Connection
from signaling.handlers.seating import RoomReader, admitted, take_seat, tell_message
from signaling.ice import IceSource, ice_servers_for, ice_transport_policy
from signaling.models import AppointmentIn, GuestIn, guest_view, room_view
from signaling.outbox import Outbox
from signaling.registry import Updated
from signaling.socket_rooms import consult_room


class GuestConsultations(Protocol):
    """What the guest handlers ask of the consultation service (``ConsultationService``)."""

    @property
    def registry(self) -> RoomReader: ...

    async def join_guest(self, guest: GuestCaller) -> Updated[GuestJoined]: ...

    async def admit_guest(
        self, caller: Caller, appointment_id: str, guest_id: str
    ) -> Updated[GuestSeat]: ...

    async def remove_guest(
        self, caller: Caller, appointment_id: str, guest_id: str
    ) -> Updated[GuestSeat]: ...

    async def count_message(self, appointment_id: str, seq: int) -> Updated[None]: ...


class Invites(Protocol):
    """The guest invitations as stored: a guest's session is only as good as its invitation."""

    async def get(self, invite_id: str) -> Invite | None: ...

    async def change(self, invite: Invite, *, expected: InviteStatus) -> Invite | None: ...


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> object: ...


class Transcript(Protocol):
    """The consultation's chat (``ChatService``): the transcript's guest lines."""

    async def send(
        self,
        *,
        appointment_id: AppointmentId,
        sender: Sender,
        client_msg_id: str,
        text: str,
        guest: GuestNote | None = None,
    ) -> SendResult: ...


class GuestHandlers:
    """``sockets``: this node's sockets (a removed guest's is no longer joined)."""

    def __init__(
        self,
        *,
        consult: GuestConsultations,
        outbox: Outbox,
        invites: Invites,
        audit: AuditLog,
        transcript: Transcript,
        sockets: Mapping[str, Connection],
        clock: Clock,
        ice: IceSource | None = None,
    ) -> None:
        self._consult = consult
        self._outbox = outbox
        self._invites = invites
        self._audit = audit
        self._transcript = transcript
        self._sockets = sockets
        self._clock = clock
        self._ice = ice

    async def join(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        """An invited guest joins its consultation's waiting room (its session names the one
        appointment it may join: any other is ``forbidden``)."""
        guest = conn.guest
        assert guest is not None  # the gateway lets only guests send this
        if payload.appointment_id != guest.appointment_id:
            raise Forbidden("this guest session is for another consultation")
        # The invitation may have been revoked, or its guest removed, since the socket connected.
        check_guest_pass(guest, await self._invites.get(guest.guest_id))
        update = await self._consult.join_guest(
            GuestCaller(
                guest_id=guest.guest_id,
                appointment_id=guest.appointment_id,
                name=guest.name,
                kind=guest.kind.value,
                sid=conn.sid,
            )
        )
        joined = update.result
        room = await take_seat(
            self._outbox,
            self._consult.registry,
            conn,
            guest.appointment_id,
            update,
            joined.replaced_sid,
        )
        await self.audit("guest.join", room, guest.guest_id, conn)
        is_admitted = joined.state is GuestState.ADMITTED
        return {
            "guest": {"guest_id": guest.guest_id, "name": guest.name, "kind": guest.kind.value},
            "state": joined.state.value,
            "room": guest_view(room),
            "ice_servers": ice_servers_for(self._ice, conn.user_id, admitted=is_admitted),
            "ice_transport_policy": ice_transport_policy(self._ice),
        }

    async def admit(self, conn: Connection, payload: GuestIn, _: Received) -> dict[str, Any]:
        """The doctor lets a waiting guest into the call: the guest is told
        ``consult:admitted`` (with TURN credentials), everyone ``consult:state``."""
        conn.require_joined(payload.appointment_id)
        update = await self._consult.admit_guest(
            conn.caller(), payload.appointment_id, payload.guest_id
        )
        room, guest = update.after, update.result
        assert room is not None
        await self._outbox.publish(update)
        if guest.sid is not None:
            await self._outbox.emit(
                "consult:admitted",
                admitted(room.appointment_id, guest_view(room), self._ice, guest.guest_id),
                to=guest.sid,
            )
        await self.audit("guest.admit", room, guest.guest_id, conn)
        await self._transcribe(conn, room, guest, "admitted")
        return {"room": room_view(room)}

    async def remove(self, conn: Connection, payload: GuestIn, _: Received) -> dict[str, Any]:
        """The doctor removes a guest: its invitation ends (its session no longer connects or
        joins), its socket gets ``consult:closed`` (``removed``) and leaves the room."""
        conn.require_joined(payload.appointment_id)
        update = await self._consult.remove_guest(
            conn.caller(), payload.appointment_id, payload.guest_id
        )
        room, guest = update.after, update.result
        assert room is not None
        await self._end_invite(guest.guest_id, conn)
        await self._outbox.publish(update)
        if guest.sid is not None:
            await self._outbox.emit(
                "consult:closed",
                {"appointment_id": room.appointment_id, "reason": "removed"},
                to=guest.sid,
            )
            await self._outbox.leave(guest.sid, consult_room(room.appointment_id))
            gone = self._sockets.get(guest.sid)
            if gone is not None and gone.appointment_id == room.appointment_id:
                gone.appointment_id = None
        await self.audit("guest.remove", room, guest.guest_id, conn)
        await self._transcribe(conn, room, guest, "removed")
        return {"room": room_view(room)}

    async def audit(self, action: str, room: Room, guest_id: str, conn: Connection) -> None:
        """``guest.join``, ``guest.admit``, ``guest.remove``, ``guest.leave``: who (the doctor,
        or the guest itself: actor role ``guest``), which invitation, which consultation."""
        await self._audit.append(
            AuditEntry(
                at=self._clock(),
                actor_id=conn.user_id,
                actor_role=conn.principal.role.value if conn.principal is not None else "guest",
                action=action,
                outcome=Outcome.SUCCESS,
                patient_id=room.patient.id,
                resource_type="guest_invite",
                resource_id=guest_id,
                client_ip=conn.address,
                details={"appointment_id": room.appointment_id, "via": "socket"},
            )
        )

    async def _transcribe(
        self, conn: Connection, room: Room, guest: GuestSeat, action: str
    ) -> None:
        """The transcript says who was in the call: a line (``message.guest``) from the doctor
        who admitted or removed the guest, heard by the two participants."""
        result = await self._transcript.send(
            appointment_id=room.appointment_id,
            sender=Sender(id=conn.user_id, role=Role.DOCTOR, name=conn.name),
            client_msg_id=f"guest:{action}:{guest.guest_id}:{room.rev}",
            text="",
            guest=GuestNote(
                action=action, guest_id=guest.guest_id, name=guest.name, kind=guest.kind
            ),
        )
        if result.created:
            await tell_message(self._outbox, self._consult, room, result.message)

    async def _end_invite(self, guest_id: str, conn: Connection) -> None:
        """A removed guest's invitation is revoked, so that its session cannot come back."""
        invite = await self._invites.get(guest_id)
        if invite is None or invite.status is not InviteStatus.REDEEMED:
            return
        revoked = replace(invite, status=InviteStatus.REVOKED, decided_by=conn.user_id)
        await self._invites.change(revoked, expected=InviteStatus.REDEEMED)
