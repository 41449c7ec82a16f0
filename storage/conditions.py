"""The ``conditions`` collection (problem list)."""

from __future__ import annotations

from datetime import date, datetime

from domain.ids import new_id
from domain.records import Author, Condition, ConditionStatus
from storage.patient_items import Document, PatientItems, author_doc, to_author


class ConditionRepository(PatientItems[Condition]):
    """In the order they were recorded."""

    def _item(self, doc: Document) -> Condition:
        onset = doc.get("onset_date")
        return Condition(
            id=doc["_id"],
            patient_id=doc["patient_id"],
            name=doc["name"],
            code=doc.get("code"),
            status=ConditionStatus(doc["status"]),
            onset_date=date.fromisoformat(onset) if onset else None,
            recorded_by=to_author(doc["recorded_by"]),
            created_at=doc["created_at"],
        )

    async def insert(
        self,
        *,
        patient_id: str,
        name: str,
        code: str | None,
        status: ConditionStatus,
        onset_date: date | None,
        recorded_by: Author,
        now: datetime,
    ) -> Condition:
        return await self._insert(
            {
                "_id": new_id(),
                "patient_id": patient_id,
                "name": name,
                "code": code,
                "status": status.value,
                # MongoDB has no date type: a calendar date is stored as its ISO text.
                "onset_date": onset_date.isoformat() if onset_date else None,
                "recorded_by": author_doc(recorded_by),
                "created_at": now,
            }
        )
