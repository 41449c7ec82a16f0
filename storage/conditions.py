"""The ``conditions`` collection (problem list)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import new_id
from domain.records import Author, Condition, ConditionStatus
from storage.notes import author_doc, to_author
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def _to_condition(doc: Document) -> Condition:
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


class ConditionRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("patient_id", ASCENDING), ("_id", ASCENDING)], name="patient")

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
        doc: Document = {
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
        await self._c.insert_one(doc)
        return _to_condition(doc)

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[Condition]:
        """In the order they were recorded."""
        return await find_page(
            self._c,
            {"patient_id": patient_id},
            sort_field="_id",
            after=after,
            limit=limit,
            convert=_to_condition,
        )
