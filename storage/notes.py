"""The ``notes`` collection: doctors' clinical notes, one per document."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import new_id
from domain.records import Author, Note
from domain.users import Role
from storage.field_crypto import FieldCipher, reveal_fields, seal
from storage.paging import After, Page, find_page

Document = dict[str, Any]


def author_doc(author: Author) -> Document:
    return {"id": author.id, "role": author.role.value}


def to_author(doc: Document) -> Author:
    return Author(id=doc["id"], role=Role(doc["role"]))


def _to_note(doc: Document) -> Note:
    return Note(
        id=doc["_id"],
        patient_id=doc["patient_id"],
        appointment_id=doc["appointment_id"],
        author=to_author(doc["author"]),
        text=doc["text"],
        created_at=doc["created_at"],
    )


class NoteRepository:
    """``text`` is sealed at rest when field encryption is on (``storage/field_crypto.py``)."""

    def __init__(
        self, collection: AsyncCollection[Document], *, cipher: FieldCipher | None = None
    ) -> None:
        self._c = collection
        self._cipher = cipher

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )

    async def insert(
        self, *, patient_id: str, appointment_id: str, author: Author, text: str, now: datetime
    ) -> Note:
        note_id = new_id()
        doc: Document = {
            "_id": note_id,
            "patient_id": patient_id,
            "appointment_id": appointment_id,
            "author": author_doc(author),
            "text": await seal(self._cipher, text, owner=note_id),
            "created_at": now,
        }
        await self._c.insert_one(doc)
        return _to_note({**doc, "text": text})

    async def page(self, patient_id: str, *, after: After | None, limit: int) -> Page[Note]:
        """Newest first."""
        page = await find_page(
            self._c,
            {"patient_id": patient_id},
            sort_field="created_at",
            descending=True,
            after=after,
            limit=limit,
            convert=dict,
        )
        for doc in page.items:
            await reveal_fields(self._cipher, doc, "text")
        return Page(items=[_to_note(d) for d in page.items], next=page.next)
