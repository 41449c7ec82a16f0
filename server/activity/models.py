"""Response model of ``GET /admin/activity``."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, Field

from domain.activity import ActivitySample
from server.http.types import UtcDateTime


class ActivityPoint(BaseModel):
    at: UtcDateTime = Field(description="start of the sample's interval")
    rooms: int = Field(ge=0, description="active rooms")
    people: int = Field(ge=0, description="connected participants over all rooms")

    @classmethod
    def of(cls, sample: ActivitySample) -> ActivityPoint:
        return cls(
            at=datetime.fromtimestamp(sample.at, UTC), rooms=sample.rooms, people=sample.people
        )


class ActivityHistoryOut(BaseModel):
    interval_seconds: int
    window_seconds: int
    samples: list[ActivityPoint] = Field(description="oldest first, one per interval at most")
