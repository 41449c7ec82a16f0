"""``visit_summaries``: one after-visit summary per appointment (``_id`` = the appointment)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.visit_summary import VisitSummary

Document = dict[str, Any]


def _to_summary(doc: Document) -> VisitSummary:
    follow_up = doc.get("follow_up_date")
    return VisitSummary(
        appointment_id=doc["_id"],
        patient_id=doc["patient_id"],
        doctor_id=doc["doctor_id"],
        diagnosis=doc.get("diagnosis", ""),
        advice=doc.get("advice", ""),
        follow_up_date=date.fromisoformat(follow_up) if follow_up else None,
        follow_up_note=doc.get("follow_up_note", ""),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


class VisitSummaryRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("patient_id", ASCENDING), ("updated_at", ASCENDING)])

    async def get(self, appointment_id: str) -> VisitSummary | None:
        doc = await self._c.find_one({"_id": appointment_id})
        return _to_summary(doc) if doc else None

    async def put(self, summary: VisitSummary) -> VisitSummary:
        """Store the appointment's summary (replacing the previous version)."""
        doc: Document = {
            "patient_id": summary.patient_id,
            "doctor_id": summary.doctor_id,
            "diagnosis": summary.diagnosis,
            "advice": summary.advice,
            "follow_up_date": (
                summary.follow_up_date.isoformat() if summary.follow_up_date else None
            ),
            "follow_up_note": summary.follow_up_note,
            "created_at": summary.created_at,
            "updated_at": summary.updated_at,
        }
        await self._c.replace_one({"_id": summary.appointment_id}, doc, upsert=True)
        return summary

    async def list_for_patient(self, patient_id: str, *, limit: int = 200) -> list[VisitSummary]:
        cursor = self._c.find({"patient_id": patient_id}).sort("updated_at", -1).limit(limit)
        return [_to_summary(d) async for d in cursor]
