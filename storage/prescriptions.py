"""The ``prescriptions`` collection. Its medication reminders live in ``reminders``."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection

from domain.records import Prescription, PrescriptionStatus
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _to_prescription(doc: Document) -> Prescription:
    return Prescription(
        id=doc["_id"],
        patient_id=doc["patient_id"],
        doctor_id=doc["doctor_id"],
        appointment_id=doc["appointment_id"],
        drug=doc["drug"],
        dose=doc["dose"],
        times=tuple(doc["times"]),
        timezone=doc["timezone"],
        start_date=date.fromisoformat(doc["start_date"]),
        days=doc["days"],
        status=PrescriptionStatus(doc["status"]),
        created_at=doc["created_at"],
        stopped_at=doc.get("stopped_at"),
    )


class PrescriptionRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )

    async def insert(
        self,
        *,
        prescription_id: str,
        patient_id: str,
        doctor_id: str,
        appointment_id: str,
        drug: str,
        dose: str,
        times: list[str],
        timezone: str,
        start_date: date,
        days: int,
        now: datetime,
    ) -> Prescription:
        doc: Document = {
            "_id": prescription_id,
            "patient_id": patient_id,
            "doctor_id": doctor_id,
            "appointment_id": appointment_id,
            "drug": drug,
            "dose": dose,
            "times": times,
            "timezone": timezone,
            "start_date": start_date.isoformat(),  # a calendar date, stored as ISO text
            "days": days,
            "status": PrescriptionStatus.ACTIVE.value,
            "created_at": now,
        }
        await self._c.insert_one(doc)
        return _to_prescription(doc)

    async def get(self, prescription_id: str) -> Prescription | None:
        doc = await self._c.find_one({"_id": prescription_id})
        return _to_prescription(doc) if doc else None

    async def stop(self, prescription_id: str, *, now: datetime) -> Prescription | None:
        """Active -> stopped (compare-and-set); ``None`` if it is not active."""
        doc = await self._c.find_one_and_update(
            {"_id": prescription_id, "status": PrescriptionStatus.ACTIVE.value},
            {"$set": {"status": PrescriptionStatus.STOPPED.value, "stopped_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return _to_prescription(doc) if doc else None

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[Prescription]:
        """Newest first."""
        return await find_page(
            self._c,
            {"patient_id": patient_id},
            sort_field="created_at",
            descending=True,
            after=after,
            limit=limit,
            convert=_to_prescription,
        )

    async def list_for_patient(self, patient_id: str, *, limit: int = 1000) -> list[Prescription]:
        cursor = self._c.find({"patient_id": patient_id}).sort("created_at", ASCENDING).limit(limit)
        return [_to_prescription(d) async for d in cursor]
