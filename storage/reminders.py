"""The ``reminders`` collection: one document per scheduled dose of a prescription.

Pushing a due reminder is claimed with a compare-and-set on ``notified_at`` (null -> now), one
document at a time, so when several server processes poll at once each reminder is claimed by
exactly one of them and pushed once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import BulkWriteError

from domain.ids import new_id
from domain.records import Prescription, Reminder
from domain.reminders import ReminderStatus, ScheduledDose
from storage.paging import After, Page
from storage.patient_items import Document, Index, PatientItems, between


class ReminderRepository(PatientItems[Reminder]):
    """Reminders in due order."""

    indexes = (
        # One reminder per dose: re-running the creation of a prescription's reminders is safe.
        Index("dose", [("prescription_id", ASCENDING), ("due_at", ASCENDING)], {"unique": True}),
        Index("patient", [("patient_id", ASCENDING), ("due_at", ASCENDING)]),
        Index("due", [("status", ASCENDING), ("notified_at", ASCENDING), ("due_at", ASCENDING)]),
    )
    sort_field = "due_at"

    def _item(self, doc: Document) -> Reminder:
        return Reminder(
            id=doc["_id"],
            prescription_id=doc["prescription_id"],
            patient_id=doc["patient_id"],
            drug=doc["drug"],
            dose=doc["dose"],
            due_at=doc["due_at"],
            local_time=doc["local_time"],
            timezone=doc["timezone"],
            status=ReminderStatus(doc["status"]),
            taken_at=doc.get("taken_at"),
            notified_at=doc.get("notified_at"),
        )

    async def insert_schedule(
        self, prescription: Prescription, doses: Sequence[ScheduledDose]
    ) -> int:
        """Insert one reminder per dose (doses already present are skipped); returns how many
        were new."""
        if not doses:
            return 0
        docs = [
            {
                "_id": new_id(),
                "prescription_id": prescription.id,
                "patient_id": prescription.patient_id,
                "drug": prescription.drug,
                "dose": prescription.dose,
                "due_at": dose.due_at,
                "local_time": dose.local_time,
                "timezone": prescription.timezone,
                "status": ReminderStatus.PENDING.value,
                "taken_at": None,
                "notified_at": None,
            }
            for dose in doses
        ]
        try:
            result = await self._c.insert_many(docs, ordered=False)
        except BulkWriteError as exc:
            if any(err.get("code") != 11000 for err in exc.details.get("writeErrors", [])):
                raise
            return int(exc.details.get("nInserted", 0))
        return len(result.inserted_ids)

    async def page(
        self,
        patient_id: str,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        after: After | None = None,
        limit: int = 100,
    ) -> Page[Reminder]:
        query: Document = {"patient_id": patient_id}
        between(query, "due_at", since, until)
        return await self._page(query, after=after, limit=limit)

    async def mark_taken(self, reminder_id: str, *, now: datetime) -> Reminder | None:
        """Pending -> taken (compare-and-set); ``None`` if it is not pending."""
        doc = await self._c.find_one_and_update(
            {"_id": reminder_id, "status": ReminderStatus.PENDING.value},
            {"$set": {"status": ReminderStatus.TAKEN.value, "taken_at": now}},
            return_document=ReturnDocument.AFTER,
        )
        return self._item(doc) if doc else None

    async def cancel_future(self, prescription_id: str, *, now: datetime) -> int:
        """Cancel the prescription's pending reminders not yet due; returns how many."""
        result = await self._c.update_many(
            {
                "prescription_id": prescription_id,
                "status": ReminderStatus.PENDING.value,
                "due_at": {"$gt": now},
            },
            {"$set": {"status": ReminderStatus.CANCELLED.value}},
        )
        return result.modified_count

    async def due_for(
        self,
        patient_ids: Sequence[str],
        *,
        now: datetime,
        not_before: datetime,
        limit: int,
        after: tuple[datetime, str] | None = None,
    ) -> list[Reminder]:
        """The pending reminders of ``patient_ids`` due in ``[not_before, now]``, oldest first
        (due time, then id), after ``after`` (the last one of the previous page), at most
        ``limit`` (read only: the e-mail and SMS sends claim their own keys)."""
        if not patient_ids:
            return []
        query: Document = {
            "patient_id": {"$in": list(patient_ids)},
            "status": ReminderStatus.PENDING.value,
            "due_at": {"$gte": not_before, "$lte": now},
        }
        if after is not None:
            query["$or"] = [
                {"due_at": {"$gt": after[0]}},
                {"due_at": after[0], "_id": {"$gt": after[1]}},
            ]
        cursor = self._c.find(query, sort=[("due_at", ASCENDING), ("_id", ASCENDING)], limit=limit)
        return [self._item(doc) async for doc in cursor]

    async def claim_due(self, *, now: datetime, not_before: datetime, limit: int) -> list[Reminder]:
        """Claim up to ``limit`` pending reminders due in ``[not_before, now]`` that nobody has
        pushed yet, oldest first. Each claim is one atomic compare-and-set (``notified_at``
        null -> ``now``), so concurrent callers never claim the same reminder."""
        claimed: list[Reminder] = []
        while len(claimed) < limit:
            doc = await self._c.find_one_and_update(
                {
                    "status": ReminderStatus.PENDING.value,
                    "notified_at": None,
                    "due_at": {"$gte": not_before, "$lte": now},
                },
                {"$set": {"notified_at": now}},
                sort=[("due_at", ASCENDING)],
                return_document=ReturnDocument.AFTER,
            )
            if doc is None:
                break
            claimed.append(self._item(doc))
        return claimed
