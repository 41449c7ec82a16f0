"""The ``availability`` collection: one document per doctor (``_id`` = the doctor's id) with
the weekly windows in the doctor's own time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection

from domain.availability import Availability, WeeklyWindow

Document = dict[str, Any]


def _to_availability(doc: Document) -> Availability:
    return Availability(
        timezone=doc["timezone"],
        slot_minutes=doc["slot_minutes"],
        weekly=tuple(WeeklyWindow(w["weekday"], w["start"], w["end"]) for w in doc["weekly"]),
    )


class AvailabilityRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        """Keyed by ``_id`` (the doctor); nothing else is queried."""

    async def get(self, doctor_id: str) -> Availability | None:
        doc = await self._c.find_one({"_id": doctor_id})
        return _to_availability(doc) if doc else None

    async def put(self, doctor_id: str, availability: Availability, *, now: datetime) -> None:
        """Replace the doctor's availability (existing bookings are kept as they are)."""
        await self._c.replace_one(
            {"_id": doctor_id},
            {
                "timezone": availability.timezone,
                "slot_minutes": availability.slot_minutes,
                "weekly": [
                    {"weekday": w.weekday, "start": w.start, "end": w.end}
                    for w in sorted(availability.weekly, key=lambda w: (w.weekday, w.start))
                ],
                "updated_at": now,
            },
            upsert=True,
        )
