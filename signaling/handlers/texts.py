"""Text consultations at the hub (``text:open``, ``text:close``; domain/text_consultations.py).

A text consultation has no video room: a participant's socket opens it (``text:open``), and
from then on hears its chat (``chat:message``, ``chat:typing``: the socket is in the
consultation's Socket.IO room) and writes in it (``signaling/handlers/chat.py`` asks
:meth:`Texts.opened` and :meth:`Texts.writer`) without a seat, until it closes it. The doctor's
first message answers it (:meth:`Texts.answered`): it goes in progress, both participants hear
``text:updated`` (change ``answered``), and the ``text_answered`` hook tells the patient by
e-mail and SMS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any, Protocol

import structlog

from domain.appointments import Appointment, AppointmentStatus
from domain.clock import Clock, iso_z
from domain.errors import NotFound
from domain.text_consultations import (
    chat_role,
    is_overdue,
    is_text,
    status_after_message,
    text_sources_of,
)
from domain.users import Role
from signaling.acks import Received
from signaling.gateway import Connection
from signaling.models import AppointmentIn
from signaling.outbox import Outbox
from signaling.socket_rooms import consult_room

log = structlog.get_logger(__name__)


class TextAppointments(Protocol):
    """The appointments repository: a text consultation, and its own status moves
    (compare-and-set)."""

    async def get(self, appointment_id: str) -> Appointment | None: ...

    async def move_text(
        self,
        appointment_id: str,
        target: AppointmentStatus,
        *,
        sources: Iterable[AppointmentStatus],
        now: datetime,
    ) -> Appointment | None: ...


class FollowUpChecks(Protocol):
    """The follow-up-only rule (``signaling/follow_up_gate.py``)."""

    async def check_join(self, user_id: str, appointment_id: str) -> None: ...

    async def check_admit(self, appointment_id: str) -> None: ...


class TextTeller(Protocol):
    """``text:updated`` to both participants' sockets (``signaling/pushes.py``)."""

    async def tell_text(self, appointment: Appointment, change: str) -> None: ...


# Told a text consultation the doctor has just answered (once: the status move is a
# compare-and-set): the server tells the patient by e-mail and SMS. Must not block.
AnsweredHook = Callable[[Appointment], None]


class Texts:
    def __init__(
        self,
        *,
        appointments: TextAppointments,
        follow_up: FollowUpChecks,
        pushes: TextTeller,
        outbox: Outbox,
        clock: Clock,
        answered: AnsweredHook | None = None,
    ) -> None:
        self._appointments = appointments
        self._follow_up = follow_up
        self._pushes = pushes
        self._outbox = outbox
        self._clock = clock
        self._answered = answered

    # ------------------------------------------------------------------ events

    async def open(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        """A participant opens a text consultation: the socket hears its chat (``chat:message``,
        ``chat:typing``) and may write in it while it is open, without a video room. Anyone
        else, or any other kind of appointment: ``not_found``."""
        appointment = await self.appointment(payload.appointment_id)
        if not is_text(appointment) or not appointment.is_participant(conn.user_id):
            raise NotFound("no such text consultation")
        # A gated one: the patient's consent.
        await self._follow_up.check_join(conn.user_id, appointment.id)
        conn.texts.add(appointment.id)
        await self._outbox.enter(conn.sid, consult_room(appointment.id))
        return {
            "appointment_id": appointment.id,
            "status": appointment.status.value,
            "respond_by": iso_z(appointment.respond_by) if appointment.respond_by else None,
            "overdue": is_overdue(appointment, self._clock()),
        }

    async def close(self, conn: Connection, payload: AppointmentIn, _: Received) -> dict[str, Any]:
        """The socket stops hearing the text consultation (it stays in the Socket.IO room when
        it also joined the consultation's video room)."""
        if payload.appointment_id in conn.texts:
            conn.texts.discard(payload.appointment_id)
            if conn.appointment_id != payload.appointment_id:
                await self._outbox.leave(conn.sid, consult_room(payload.appointment_id))
        return {}

    # ------------------------------------------------------------------ for the chat

    @staticmethod
    def opened(conn: Connection, appointment_id: str) -> bool:
        """Whether the socket writes in this consultation as a text consultation it opened
        (without a room) rather than from a seat of its video room."""
        return appointment_id in conn.texts

    async def writer(
        self, conn: Connection, appointment_id: str, *, sending: bool = False
    ) -> tuple[Appointment, Role]:
        """The opened text consultation, and the role in which the socket's user writes in it:
        ``not_found`` for a non-participant, ``text_consultation_closed`` once it is over;
        ``sending`` a message, also the follow-up rule (the doctor confirmed the follow-up)."""
        appointment = await self.appointment(appointment_id)
        role = chat_role(appointment, conn.user_id)
        if sending:
            await self._follow_up.check_admit(appointment.id)
        return appointment, role

    async def answered(self, appointment: Appointment, role: Role) -> None:
        """The doctor's first message answers a text consultation: it goes in progress, and
        both participants hear it (``text:updated``, change ``answered``)."""
        target = status_after_message(appointment, role)
        if target is None:
            return
        moved = await self._appointments.move_text(
            appointment.id, target, sources=text_sources_of(target), now=self._clock()
        )
        if moved is not None:
            await self.tell(moved, "answered")
            if self._answered is not None:
                try:
                    self._answered(moved)
                except Exception as exc:  # best effort; the answer stands
                    log.warning("text_answered_hook_failed", error=repr(exc))

    # ------------------------------------------------------------------ for the REST side

    async def tell(self, appointment: Appointment, change: str) -> None:
        """``text:updated`` to both participants' sockets (PROTOCOL.md, "Text consultations")."""
        await self._pushes.tell_text(appointment, change)

    async def appointment(self, appointment_id: str) -> Appointment:
        appointment = await self._appointments.get(appointment_id)
        if appointment is None:
            raise NotFound("no such text consultation")
        return appointment
