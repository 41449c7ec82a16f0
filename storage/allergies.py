"""The ``allergies`` collection."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import new_id
from domain.records import Allergy, Author, Severity
from storage.notes import author_doc, to_author
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _to_allergy(doc: Document) -> Allergy:
    return Allergy(
        id=doc["_id"],
        patient_id=doc["patient_id"],
        substance=doc["substance"],
        reaction=doc.get("reaction"),
        severity=Severity(doc["severity"]) if doc.get("severity") else None,
        recorded_by=to_author(doc["recorded_by"]),
        created_at=doc["created_at"],
    )


class AllergyRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("patient_id", ASCENDING), ("_id", ASCENDING)], name="patient")

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
        doc: Document = {
            "_id": new_id(),
            "patient_id": patient_id,
            "substance": substance,
            "reaction": reaction,
            "severity": severity.value if severity else None,
            "recorded_by": author_doc(recorded_by),
            "created_at": now,
        }
        await self._c.insert_one(doc)
        return _to_allergy(doc)

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[Allergy]:
        """In the order they were recorded."""
        return await find_page(
            self._c,
            {"patient_id": patient_id},
            sort_field="_id",
            after=after,
            limit=limit,
            convert=_to_allergy,
        )
