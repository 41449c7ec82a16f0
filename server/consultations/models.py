"""Request and response models of the consultation endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chat.models import MessageOut, MessagesOut, Timestamp
from domain.chat import MAX_SEQ
from signaling.models import RoomsOut, RoomSummary, RoomView


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_seq: int = Field(default=0, ge=0, le=MAX_SEQ, description="only messages after this seq")
    limit: int = Field(default=100, ge=1, le=500)


class DoctorRoomsOut(BaseModel):
    rooms: list[RoomView] = Field(
        description="the doctor's open rooms, those with a waiting patient first (arrival order)"
    )


class QueueOut(BaseModel):
    appointment_id: str
    position: int | None = Field(
        description="1 = next; null when the patient is not in the waiting room now"
    )
    waiting: int = Field(description="patients waiting for this doctor now")
    doctor_busy: bool = Field(description="the doctor is in another consultation")
    waiting_since: Timestamp | None
    estimated_wait_seconds: int | None = Field(
        default=None,
        description="the likely wait from now, in seconds (null when not waiting): patients "
        "ahead x the doctor's typical consultation + what is left of the one in progress",
    )
    wait_from_history: bool = Field(
        default=False,
        description="the typical length comes from the doctor's recent consultations "
        "(false: the default, too few of them)",
    )


__all__ = [
    "DoctorRoomsOut",
    "MessageOut",
    "MessagesOut",
    "MessagesQuery",
    "QueueOut",
    "RoomSummary",
    "RoomsOut",
]
