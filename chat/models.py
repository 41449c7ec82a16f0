"""The chat's wire shapes (Socket.IO payloads and REST responses share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, PlainSerializer

from domain.chat import ChatMessage
from domain.clock import iso_z
from domain.users import Role

# ISO 8601 in UTC with a Z and millisecond precision, as the contract requires.
Timestamp = Annotated[datetime, PlainSerializer(iso_z, return_type=str, when_used="json")]


def _none(value: object) -> bool:
    return value is None


def _never_null(schema: dict[str, Any]) -> None:
    options = [o for o in schema.pop("anyOf", []) if o.get("type") != "null"]
    if len(options) == 1:
        schema.update(options[0])
    elif options:
        schema["anyOf"] = options


def absent(description: str | None = None) -> Any:
    """A field left out of what is sent while it is None, never sent as null (a problem's
    ``errors``, a TURN server's credentials): the contracts' schemas say "absent or a value"
    (``server/http/json_schema.py``); every other field is always sent."""
    return Field(
        default=None, exclude_if=_none, json_schema_extra=_never_null, description=description
    )


class SenderOut(BaseModel):
    id: str
    role: Role
    name: str


class AttachmentOut(BaseModel):
    document_id: str
    kind: str
    title: str
    content_type: str
    size: int


class GuestNoteOut(BaseModel):
    """The doctor admitted a guest to the call, or removed them (a line of the transcript)."""

    action: Literal["admitted", "removed"]
    guest_id: str
    name: str
    kind: Literal["interpreter", "family", "colleague"]


class MessageOut(BaseModel):
    id: str
    appointment_id: str
    seq: int
    sender: SenderOut
    text: str
    client_msg_id: str
    sent_at: Timestamp
    attachment: AttachmentOut | None = None
    guest: GuestNoteOut | None = absent("a guest admitted or removed (absent: a message)")

    @classmethod
    def of(cls, message: ChatMessage) -> MessageOut:
        return cls(
            id=message.id,
            appointment_id=message.appointment_id,
            seq=message.seq,
            sender=SenderOut(
                id=message.sender_id, role=message.sender_role, name=message.sender_name
            ),
            text=message.text,
            client_msg_id=message.client_msg_id,
            sent_at=message.sent_at,
            attachment=(
                AttachmentOut(
                    document_id=message.attachment.document_id,
                    kind=message.attachment.kind,
                    title=message.attachment.title,
                    content_type=message.attachment.content_type,
                    size=message.attachment.size,
                )
                if message.attachment is not None
                else None
            ),
            guest=(
                GuestNoteOut(
                    action="removed" if message.guest.action == "removed" else "admitted",
                    guest_id=message.guest.guest_id,
                    name=message.guest.name,
                    kind="family"
                    if message.guest.kind == "family"
                    else "colleague"
                    if message.guest.kind == "colleague"
                    else "interpreter",
                )
                if message.guest is not None
                else None
            ),
        )


def message_payload(message: ChatMessage) -> dict[str, Any]:
    """A message as JSON-ready data for a Socket.IO event."""
    return MessageOut.of(message).model_dump(mode="json")


class MessagesOut(BaseModel):
    messages: list[MessageOut]
