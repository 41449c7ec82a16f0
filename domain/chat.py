"""A consultation's chat message, as stored in the transcript (no I/O here).

``seq`` counts 1, 2, 3, ... per appointment with no gaps; ``client_msg_id`` is chosen by the
sending client so that a retried send is recognised and answered with the original message.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.ids import AppointmentId, MessageId, UserId
from domain.users import Role

# A message's sequence number is stored as a BSON int64: a client's ``after_seq`` above it
# names no message and is refused (it would not even reach the database).
MAX_SEQ = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Sender:
    id: UserId
    role: Role
    name: str


@dataclass(frozen=True, slots=True)
class Attachment:
    """A patient's document shown in the chat (its description; the bytes stay in GridFS)."""

    document_id: str
    kind: str
    title: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class GuestNote:
    """A transcript line nobody wrote: the doctor (the message's sender) admitted a guest to
    the call or removed them (domain.consultation). Its ``text`` is empty; clients word it."""

    action: str  # "admitted" | "removed"
    guest_id: str
    name: str
    kind: str


@dataclass(frozen=True, slots=True)
class ChatMessage:
    id: MessageId
    appointment_id: AppointmentId
    seq: int
    sender_id: UserId
    sender_role: Role
    sender_name: str
    text: str
    client_msg_id: str
    sent_at: datetime
    attachment: Attachment | None = None
    guest: GuestNote | None = None

    @property
    def sender(self) -> Sender:
        return Sender(id=self.sender_id, role=self.sender_role, name=self.sender_name)
