"""Reading a consultation's transcript: only its two participants may, and every read (allowed
or not) is written to the audit log. REST (``GET /appointments/{id}/messages``) and the hub
(``chat:history``) both read through here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chat.service import ChatService
from domain.appointments import Appointment
from domain.audit import AuditEntry, Outcome
from domain.chat import ChatMessage
from domain.clock import Clock
from domain.errors import NotFound
from domain.ids import AppointmentId
from domain.users import Principal

ACTION = "transcript.read"


class AppointmentLookup(Protocol):
    async def get(self, appointment_id: str) -> Appointment | None: ...


class Parties(Protocol):
    async def party_to(self, user_id: str, appointment: Appointment) -> bool: ...


class AuditLog(Protocol):
    async def append(self, entry: AuditEntry) -> str: ...


@dataclass(frozen=True, slots=True)
class ReadContext:
    """Where a read came from, for the audit entry."""

    via: str  # "rest" or "socket"
    request_id: str | None = None
    client_ip: str | None = None


class TranscriptReader:
    def __init__(
        self,
        *,
        appointments: AppointmentLookup,
        audit: AuditLog,
        chat: ChatService,
        clock: Clock,
        parties: Parties | None = None,
    ) -> None:
        # ``parties``: who else may read (the account that manages a family member); without
        # it, the two participants only.
        self._parties = parties
        self._appointments = appointments
        self._audit = audit
        self._chat = chat
        self._clock = clock

    async def read(
        self,
        reader: Principal,
        appointment_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        context: ReadContext,
    ) -> list[ChatMessage]:
        appointment = await self._appointments.get(appointment_id)
        if appointment is None or not (
            appointment.is_participant(reader.user_id)
            or (
                self._parties is not None
                and await self._parties.party_to(reader.user_id, appointment)
            )
        ):
            await self._record(
                reader,
                appointment_id,
                appointment.patient_id if appointment is not None else None,
                Outcome.DENIED,
                context,
                {},
            )
            raise NotFound("no such appointment")
        messages = await self._chat.history(
            AppointmentId(appointment_id), after_seq=after_seq, limit=limit
        )
        await self._record(
            reader,
            appointment_id,
            appointment.patient_id,
            Outcome.SUCCESS,
            context,
            {"after_seq": after_seq, "count": len(messages)},
        )
        return messages

    async def _record(
        self,
        reader: Principal,
        appointment_id: str,
        patient_id: str | None,
        outcome: Outcome,
        context: ReadContext,
        details: dict[str, int],
    ) -> None:
        await self._audit.append(
            AuditEntry(
                at=self._clock(),
                actor_id=reader.user_id,
                actor_role=reader.role.value,
                action=ACTION,
                outcome=outcome,
                patient_id=patient_id,
                resource_type="appointment",
                resource_id=appointment_id,
                request_id=context.request_id,
                client_ip=context.client_ip,
                details={"via": context.via, **details},
            )
        )
