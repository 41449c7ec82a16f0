"""The ``vitals`` collection: one reading per document, with its value in the unit given and
in its type's canonical unit (what the time series serves)."""

from __future__ import annotations

from datetime import datetime

from pymongo import ASCENDING

from domain.ids import new_id
from domain.records import Author, Vital
from domain.vitals import Reading, VitalType
from storage.paging import After, Page
from storage.patient_items import Document, Index, PatientItems, author_doc, between, to_author


class VitalRepository(PatientItems[Vital]):
    """Readings in measurement order (oldest first, as a chart draws them)."""

    indexes = (
        Index(
            "series", [("patient_id", ASCENDING), ("type", ASCENDING), ("measured_at", ASCENDING)]
        ),
        Index("patient", [("patient_id", ASCENDING), ("measured_at", ASCENDING)]),
    )
    sort_field = "measured_at"

    def _item(self, doc: Document) -> Vital:
        return Vital(
            id=doc["_id"],
            patient_id=doc["patient_id"],
            type=VitalType(doc["type"]),
            unit=doc["unit"],
            value=doc.get("value"),
            systolic=doc.get("systolic"),
            diastolic=doc.get("diastolic"),
            canonical=dict(doc["canonical"]),
            measured_at=doc["measured_at"],
            recorded_by=to_author(doc["recorded_by"]),
            created_at=doc["created_at"],
            appointment_id=doc.get("appointment_id"),
        )

    async def insert(
        self,
        *,
        patient_id: str,
        reading: Reading,
        measured_at: datetime,
        recorded_by: Author,
        now: datetime,
        appointment_id: str | None = None,
    ) -> Vital:
        doc: Document = {
            "_id": new_id(),
            "patient_id": patient_id,
            "type": reading.type.value,
            "unit": reading.unit,
            "canonical": reading.canonical,
            "measured_at": measured_at,
            "recorded_by": author_doc(recorded_by),
            "created_at": now,
        }
        if reading.value is not None:
            doc["value"] = reading.value
        else:
            doc["systolic"] = reading.systolic
            doc["diastolic"] = reading.diastolic
        if appointment_id is not None:
            doc["appointment_id"] = appointment_id
        return await self._insert(doc)

    async def page(
        self,
        patient_id: str,
        *,
        vital_type: VitalType | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        after: After | None = None,
        limit: int = 100,
        newest_first: bool = False,
    ) -> Page[Vital]:
        query: Document = {"patient_id": patient_id}
        if vital_type is not None:
            query["type"] = vital_type.value
        between(query, "measured_at", since, until)
        return await self._page(query, after=after, limit=limit, descending=newest_first)
