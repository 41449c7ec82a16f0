"""The ``recording_consents`` collection: every consent to recording given or withdrawn, who,
when, through which address, and which notice (version and digest of its text) they were shown.
Append-only: this module offers no update and no delete."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import UserId
from domain.recording import ConsentRecord
from domain.users import Role

Document = dict[str, Any]


def _to_record(doc: Document) -> ConsentRecord:
    return ConsentRecord(
        id=doc["_id"],
        appointment_id=doc["appointment_id"],
        user_id=UserId(doc["user_id"]),
        role=Role(doc["role"]),
        consent=bool(doc["consent"]),
        notice_version=doc["notice_version"],
        notice_digest=doc.get("notice_digest"),
        at=doc["at"],
        client_ip=doc.get("client_ip"),
    )


class ConsentRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("appointment_id", ASCENDING), ("at", ASCENDING)], name="call")

    async def append(self, record: ConsentRecord) -> None:
        await self._c.insert_one(
            {
                "_id": record.id,
                "appointment_id": record.appointment_id,
                "user_id": record.user_id,
                "role": record.role.value,
                "consent": record.consent,
                "notice_version": record.notice_version,
                "notice_digest": record.notice_digest,
                "at": record.at,
                "client_ip": record.client_ip,
            }
        )

    async def for_appointment(self, appointment_id: str) -> list[ConsentRecord]:
        """Oldest first."""
        cursor = self._c.find({"appointment_id": appointment_id}).sort(
            [("at", ASCENDING), ("_id", ASCENDING)]
        )
        return [_to_record(d) async for d in cursor]
