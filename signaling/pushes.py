"""Events pushed to people's open sockets, on any node: to a user (and the accounts that
manage them, whose sockets hear theirs), to every pharmacist, and what becomes due with time
(medication reminders, text consultations past their response deadline).

The REST side pushes through :class:`Pushes` (notifications, orders, prescriptions, text
consultations); housekeeping claims what is due through :class:`DuePushes`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from domain.appointments import Appointment
from domain.clock import Clock
from domain.text_consultations import is_overdue
from signaling.events import MAIN
from signaling.reminders import ReminderSource, reminder_payload
from signaling.socket_rooms import PHARMACISTS_ROOM, user_room


class Emitter(Protocol):
    """The Socket.IO server's emit (to a room, on every node)."""

    async def emit(
        self, event: str, data: Any = None, *, room: str | None = None, namespace: str | None = None
    ) -> None: ...


class Pushes:
    def __init__(self, sio: Emitter, *, clock: Clock) -> None:
        self._sio = sio
        self._clock = clock

    async def to_user(self, user_id: str, event: str, data: dict[str, Any]) -> None:
        """Send an event to every open socket of a user, on any node."""
        await self._sio.emit(event, data, room=user_room(user_id), namespace=MAIN)

    async def to_pharmacists(self, event: str, data: dict[str, Any]) -> None:
        """Send an event to every pharmacist's open sockets, on any node."""
        await self._sio.emit(event, data, room=PHARMACISTS_ROOM, namespace=MAIN)

    async def tell_text(self, appointment: Appointment, change: str) -> None:
        """``text:updated`` to both participants' sockets (PROTOCOL.md, "Text consultations")."""
        payload = {
            "appointment_id": appointment.id,
            "change": change,
            "kind": appointment.kind.value,
            "status": appointment.status.value,
            "overdue": is_overdue(appointment, self._clock()),
        }
        for user_id in appointment.participant_ids():
            await self.to_user(user_id, "text:updated", payload)


class OverdueTexts(Protocol):
    async def claim_overdue_text(self, now: datetime) -> list[Appointment]: ...


class DuePushes:
    """What becomes due with time, claimed (compare-and-set, so with several nodes only one
    pushes each) and pushed."""

    def __init__(
        self,
        pushes: Pushes,
        *,
        reminders: ReminderSource,
        appointments: OverdueTexts,
        clock: Clock,
    ) -> None:
        self._pushes = pushes
        self._reminders = reminders
        self._appointments = appointments
        self._clock = clock

    async def reminders(self, source: ReminderSource | None = None) -> int:
        """Claim the medication reminders due now and push each to its patient's sockets
        (``reminder:due``); returns how many were pushed."""
        due = await (source or self._reminders).claim_due_reminders(self._clock())
        for reminder in due:
            await self._pushes.to_user(
                reminder.patient_id, "reminder:due", reminder_payload(reminder)
            )
        return len(due)

    async def overdue_texts(self) -> int:
        """Claim the text consultations whose response deadline has just passed unanswered and
        tell both participants (``text:updated``, change ``overdue``), once each."""
        told = 0
        for appointment in await self._appointments.claim_overdue_text(self._clock()):
            await self._pushes.tell_text(appointment, "overdue")
            told += 1
        return told
