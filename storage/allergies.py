"""The ``allergies`` collection."""

from __future__ import annotations

from datetime import datetime

from domain.ids import new_id
from domain.records import Allergy, Author, Severity
from storage.patient_items import Document, PatientItems, author_doc, to_author


class AllergyRepository(PatientItems[Allergy]):
    """In the order they were recorded."""

    def _item(self, doc: Document) -> Allergy:
        return Allergy(
            id=doc["_id"],
            patient_id=doc["patient_id"],
            substance=doc["substance"],
            reaction=doc.get("reaction"),
            severity=Severity(doc["severity"]) if doc.get("severity") else None,
            recorded_by=to_author(doc["recorded_by"]),
            created_at=doc["created_at"],
        )

    async def insert(
        self,
        *,
        patient_id: str,
        substance: str,
        reaction: str | None,
        severity: Severity | None,
        recorded_by: Author,
        now: datetime,
    ) -> Allergy:
        return await self._insert(
            {
                "_id": new_id(),
                "patient_id": patient_id,
                "substance": substance,
                "reaction": reaction,
                "severity": severity.value if severity else None,
                "recorded_by": author_doc(recorded_by),
                "created_at": now,
            }
        )
