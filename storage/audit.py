"""The ``audit`` collection: append-only. This module offers no update and no delete."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.audit import AuditEntry, Outcome
from domain.ids import new_id

Document = dict[str, Any]


def _to_entry(doc: Document) -> tuple[str, AuditEntry]:
    fields = {k: v for k, v in doc.items() if k != "_id"}
    fields["outcome"] = Outcome(fields["outcome"])
    return doc["_id"], AuditEntry(**fields)


class AuditRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("at", DESCENDING)], name="at")
        await self._c.create_index([("actor_id", ASCENDING), ("at", DESCENDING)], name="actor")
        await self._c.create_index([("patient_id", ASCENDING), ("at", DESCENDING)], name="patient")

    async def append(self, entry: AuditEntry) -> str:
        entry_id = new_id()
        doc = {"_id": entry_id, **asdict(entry)}
        doc["outcome"] = entry.outcome.value
        await self._c.insert_one(doc)
        return entry_id

    async def query(
        self,
        *,
        actor_id: str | None = None,
        patient_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        before_id: str | None = None,
        limit: int = 50,
    ) -> list[tuple[str, AuditEntry]]:
        """Newest first; ``before_id`` is the cursor (ids grow with time)."""
        query: Document = {}
        if actor_id is not None:
            query["actor_id"] = actor_id
        if patient_id is not None:
            query["patient_id"] = patient_id
        if since is not None or until is not None:
            query["at"] = {}
            if since is not None:
                query["at"]["$gte"] = since
            if until is not None:
                query["at"]["$lt"] = until
        if before_id is not None:
            query["_id"] = {"$lt": before_id}
        cursor = self._c.find(query).sort("_id", DESCENDING).limit(limit)
        return [_to_entry(d) async for d in cursor]
