"""The ``messages`` collection (chat transcripts), read side only.

The consultation hub writes it; documents are ``{_id, appointment_id, seq, sender_id,
sender_role, sender_name, text, client_msg_id, sent_at}`` with ``seq`` 1..n per appointment.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

Document = dict[str, Any]


class MessageRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._c = collection

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("seq", ASCENDING)], unique=True, name="seq"
        )

    async def list_for_appointments(self, appointment_ids: list[str]) -> list[Document]:
        """Every message of these appointments, by appointment then ``seq``."""
        if not appointment_ids:
            return []
        cursor = self._c.find({"appointment_id": {"$in": appointment_ids}}).sort(
            [("appointment_id", ASCENDING), ("seq", ASCENDING)]
        )
        return [doc async for doc in cursor]
