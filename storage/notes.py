"""The ``notes`` collection: doctors' clinical notes, one per document."""

from __future__ import annotations

from datetime import datetime

from pymongo.asynchronous.collection import AsyncCollection

from domain.ids import new_id
from domain.records import Author, Note
from storage.field_crypto import FieldCipher, reveal_fields, seal
from storage.patient_items import NEWEST_FIRST, Document, PatientItems, author_doc, to_author


class NoteRepository(PatientItems[Note]):
    """Newest first. ``text`` is sealed at rest when field encryption is on
    (``storage/field_crypto.py``)."""

    indexes = (NEWEST_FIRST,)
    sort_field = "created_at"
    newest_first = True

    def __init__(
        self, collection: AsyncCollection[Document], *, cipher: FieldCipher | None = None
    ) -> None:
        super().__init__(collection)
        self._cipher = cipher

    def _item(self, doc: Document) -> Note:
        return Note(
            id=doc["_id"],
            patient_id=doc["patient_id"],
            appointment_id=doc["appointment_id"],
            author=to_author(doc["author"]),
            text=doc["text"],
            created_at=doc["created_at"],
        )

    async def _opened(self, doc: Document) -> Document:
        await reveal_fields(self._cipher, doc, "text")
        return doc

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
        return self._item({**doc, "text": text})
