"""Medication reminders that fall due, pushed to the patient's open sockets (``reminder:due``).

The hub's housekeeping asks a :class:`ReminderSource` (through ``pushes.DuePushes``) to claim
the reminders due now and emits each one to every open socket of its patient, on any node. The
source's claim is atomic (a compare-and-set in the reminders repository), so with several server
processes each reminder is pushed by exactly one of them. A push reaches the sockets open at that
moment (Socket.IO is at most once); the reminder itself stays readable over REST.

The source is the records module's ``ReminderService.claim_due_reminders(now)``
(``server/records/reminders.py``, ``app[keys.REMINDERS]``); ``create_app`` gives it to
``DuePushes(reminders=...)``. The push runs with the housekeeping (``TELEMED_HUB_HOUSEKEEPING``
seconds), so a reminder arrives within that much of its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from domain.clock import iso_z


class DueReminder(Protocol):
    """What the source returns for each claimed reminder."""

    @property
    def reminder_id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def prescription_id(self) -> str: ...
    @property
    def drug(self) -> str: ...
    @property
    def dose(self) -> str: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def local_time(self) -> str: ...
    @property
    def timezone(self) -> str: ...


class ReminderSource(Protocol):
    async def claim_due_reminders(self, now: datetime | None = None) -> Sequence[DueReminder]: ...


def reminder_payload(reminder: DueReminder) -> dict[str, Any]:
    """The ``reminder:due`` event (PROTOCOL.md)."""
    return {
        "reminder_id": reminder.reminder_id,
        "prescription_id": reminder.prescription_id,
        "patient_id": reminder.patient_id,
        "drug": reminder.drug,
        "dose": reminder.dose,
        "due_at": iso_z(reminder.due_at),
        "local_time": reminder.local_time,
        "timezone": reminder.timezone,
    }
