"""Request and response of ``POST /doctors/{doctor_id}/running-late``."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from server.http.types import DisplayLine, UtcDateTime


class RunningLateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    minutes: int | None = Field(
        default=None, ge=5, le=180, description="how late, roughly (null: not said)"
    )
    message: DisplayLine | None = Field(
        default=None, max_length=200, description="a short word to the patients (optional)"
    )

    @field_validator("message")
    @classmethod
    def _stripped(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip()
        return value or None


class RunningLateOut(BaseModel):
    notified: int = Field(description="waiting patients the notice went to")
    sent_at: UtcDateTime
