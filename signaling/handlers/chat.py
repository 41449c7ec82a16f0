"""A consultation's chat at the hub (``chat:send``, ``chat:history``, ``chat:typing``).

A socket writes in a consultation from its seat in the video room (it joined it), or in a text
consultation it opened (``signaling/handlers/texts.py`` says which, and in what role). A message
is stored first (``chat/service.py``: a resend with the same ``client_msg_id`` is answered with
the stored message and told to nobody), then told to the consultation's Socket.IO room; the
invited guests of a video call are left out of the chat and of typing (clinical content). A
message may carry one of the patient's own documents (anything else is ``not_found``).
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import structlog

from chat.models import message_payload
from chat.service import SendResult
from chat.transcripts import ReadContext
from domain.appointments import Appointment
from domain.chat import Attachment, ChatMessage, Sender
from domain.consultation import Room
from domain.documents import Document
from domain.errors import NotFound
from domain.ids import AppointmentId
from domain.users import Principal, Role
from signaling.acks import Received
from signaling.gateway import Connection
from signaling.handlers.seating import tell_message
from signaling.models import ChatHistoryIn, ChatSendIn, TypingIn, guest_sids
from signaling.outbox import Outbox
from signaling.registry import Updated
from signaling.socket_rooms import consult_room

log = structlog.get_logger(__name__)


class Messages(Protocol):
    """The chat service (``chat/service.py``): checks a message's text, stores it."""

    def check_text(self, text: str, *, attached: bool = False) -> None: ...

    async def send(
        self,
        *,
        appointment_id: AppointmentId,
        sender: Sender,
        client_msg_id: str,
        text: str,
        attachment: Attachment | None = None,
    ) -> SendResult: ...


class Transcripts(Protocol):
    """The transcript reader (``chat/transcripts.py``): participants only, every read audited."""

    async def read(
        self,
        reader: Principal,
        appointment_id: str,
        *,
        after_seq: int = 0,
        limit: int = 100,
        context: ReadContext,
    ) -> list[ChatMessage]: ...


class Seats(Protocol):
    """The consultation service: the room a socket holds a seat in, and its message count."""

    async def room_for(self, sid: str, appointment_id: str) -> Room: ...

    async def count_message(self, appointment_id: str, seq: int) -> Updated[None]: ...


class TextChats(Protocol):
    """Text consultations (``signaling/handlers/texts.py``): where a socket writes without a
    room."""

    def opened(self, conn: Connection, appointment_id: str) -> bool: ...

    async def writer(
        self, conn: Connection, appointment_id: str, *, sending: bool = False
    ) -> tuple[Appointment, Role]: ...

    async def answered(self, appointment: Appointment, role: Role) -> None: ...


class Documents(Protocol):
    async def get(self, document_id: str) -> Document | None: ...


class Latency(Protocol):
    """The ``chat:send`` ack latency histogram (``HubMetrics.chat_ack_latency``)."""

    def observe(self, amount: float) -> None: ...


class Chat:
    def __init__(
        self,
        *,
        messages: Messages,
        transcripts: Transcripts,
        seats: Seats,
        texts: TextChats,
        documents: Documents,
        outbox: Outbox,
        ack_latency: Latency,
    ) -> None:
        self._messages = messages
        self._transcripts = transcripts
        self._seats = seats
        self._texts = texts
        self._documents = documents
        self._outbox = outbox
        self._ack_latency = ack_latency

    async def send(self, conn: Connection, payload: ChatSendIn, _: Received) -> dict[str, Any]:
        started = time.perf_counter()
        text = self._texts.opened(conn, payload.appointment_id)
        if not text:
            conn.require_joined(payload.appointment_id)
        self._messages.check_text(payload.text, attached=payload.document_id is not None)
        if text:
            appointment, role = await self._texts.writer(conn, payload.appointment_id, sending=True)
            patient_id = appointment.patient_id
        else:
            room = await self._seats.room_for(conn.sid, payload.appointment_id)
            role = room.require_seat(conn.sid).role
            patient_id = room.patient.id
        attachment = (
            await self._attachment(patient_id, payload.document_id)
            if payload.document_id is not None
            else None
        )
        result = await self._messages.send(
            appointment_id=AppointmentId(payload.appointment_id),
            sender=Sender(id=conn.user_id, role=role, name=conn.name),
            client_msg_id=payload.client_msg_id,
            text=payload.text,
            attachment=attachment,
        )
        if not result.created:
            message = message_payload(result.message)
        elif text:
            message = message_payload(result.message)
            await self._outbox.emit(
                "chat:message", message, to=consult_room(payload.appointment_id)
            )
            await self._texts.answered(appointment, role)
        else:
            message = await tell_message(self._outbox, self._seats, room, result.message)
        self._ack_latency.observe(time.perf_counter() - started)
        return {"message": message}

    async def history(
        self, conn: Connection, payload: ChatHistoryIn, _: Received
    ) -> dict[str, Any]:
        messages = await self._transcripts.read(
            conn.member(),
            payload.appointment_id,
            after_seq=payload.after_seq,
            limit=payload.limit,
            context=ReadContext(via="socket", client_ip=conn.address),
        )
        return {"messages": [message_payload(m) for m in messages]}

    async def typing(self, conn: Connection, payload: TypingIn, _: Received) -> dict[str, Any]:
        guests: list[str] = []
        if self._texts.opened(conn, payload.appointment_id):
            await self._texts.writer(conn, payload.appointment_id)
        else:
            conn.require_joined(payload.appointment_id)
            room = await self._seats.room_for(conn.sid, payload.appointment_id)
            guests = guest_sids(room)
        await self._outbox.emit(
            "chat:typing",
            {
                "appointment_id": payload.appointment_id,
                "from": conn.user_id,
                "typing": payload.typing,
            },
            to=consult_room(payload.appointment_id),
            skip=[conn.sid, *guests],
        )
        return {}

    async def _attachment(self, patient_id: str, document_id: str) -> Attachment:
        """A document of this consultation's patient (``patient_id``, from the room or the text
        consultation already read), as a chat attachment; anything else is ``not_found``
        (whether it exists or belongs to someone else)."""
        document = await self._documents.get(document_id)
        if document is None or document.patient_id != patient_id:
            raise NotFound("no such document")
        return Attachment(
            document_id=document.id,
            kind=document.kind.value,
            title=document.title,
            content_type=document.content_type.value,
            size=document.size,
        )
