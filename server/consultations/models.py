"""Request and response models of the consultation endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from chat.models import MessageOut, MessagesOut
from signaling.models import RoomsOut, RoomSummary


class MessagesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    after_seq: int = Field(default=0, ge=0, description="only messages after this seq")
    limit: int = Field(default=100, ge=1, le=500)


__all__ = ["MessageOut", "MessagesOut", "MessagesQuery", "RoomSummary", "RoomsOut"]
