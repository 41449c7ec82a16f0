"""Patients' documents: the bytes in GridFS (bucket ``documents``: ``documents.files`` and
``documents.chunks``), the description in the ``documents`` collection, both under one id.

Nothing here deletes a stored document (retention): :meth:`DocumentRepository.abort` only
discards an upload that was refused before it was described.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

from gridfs import AsyncGridFSBucket
from gridfs.asynchronous.grid_file import AsyncGridIn
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import ContentType, DicomInfo, Document, DocumentKind
from storage.notes import author_doc, to_author
from storage.paging import After, Page, find_page

Doc = dict[str, Any]
BUCKET = "documents"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size


def _dicom_doc(info: DicomInfo) -> Doc:
    return {
        "modality": info.modality,
        "study_date": info.study_date.isoformat() if info.study_date else None,
        "rows": info.rows,
        "columns": info.columns,
        "frames": info.frames,
    }


def _to_dicom(doc: Doc | None) -> DicomInfo | None:
    if doc is None:
        return None
    return DicomInfo(
        modality=doc["modality"],
        study_date=date.fromisoformat(doc["study_date"]) if doc["study_date"] else None,
        rows=doc["rows"],
        columns=doc["columns"],
        frames=doc["frames"],
    )


def _to_document(doc: Doc) -> Document:
    return Document(
        id=doc["_id"],
        patient_id=doc["patient_id"],
        kind=DocumentKind(doc["kind"]),
        title=doc["title"],
        content_type=ContentType(doc["content_type"]),
        size=doc["size"],
        sha256=doc["sha256"],
        uploaded_by=to_author(doc["uploaded_by"]),
        appointment_id=doc.get("appointment_id"),
        created_at=doc["created_at"],
        dicom=_to_dicom(doc.get("dicom")),
    )


class DocumentRepository:
    def __init__(self, db: AsyncDatabase[Doc]) -> None:
        self._c: AsyncCollection[Doc] = db[BUCKET]
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("created_at", ASCENDING)], name="appointment"
        )

    def open_upload(self, document_id: str) -> AsyncGridIn:
        """A GridFS upload stream under ``document_id``: ``write`` chunks, then ``close`` to keep
        it or ``abort`` to discard every chunk written so far."""
        return self._bucket.open_upload_stream_with_id(document_id, document_id)

    async def describe(self, document: Document) -> None:
        """Record the description of an upload already closed (kept) in GridFS."""
        doc: Doc = {
            "_id": document.id,
            "patient_id": document.patient_id,
            "kind": document.kind.value,
            "title": document.title,
            "content_type": document.content_type.value,
            "size": document.size,
            "sha256": document.sha256,
            "uploaded_by": author_doc(document.uploaded_by),
            "appointment_id": document.appointment_id,
            "created_at": document.created_at,
        }
        if document.dicom is not None:
            doc["dicom"] = _dicom_doc(document.dicom)
        await self._c.insert_one(doc)

    async def get(self, document_id: str) -> Document | None:
        doc = await self._c.find_one({"_id": document_id})
        return _to_document(doc) if doc else None

    async def page(
        self, patient_id: str, *, kind: DocumentKind | None, after: After | None, limit: int
    ) -> Page[Document]:
        """Newest first."""
        query: Doc = {"patient_id": patient_id}
        if kind is not None:
            query["kind"] = kind.value
        return await find_page(
            self._c,
            query,
            sort_field="created_at",
            descending=True,
            after=after,
            limit=limit,
            convert=_to_document,
        )

    async def for_appointment(self, appointment_id: str, *, limit: int = 200) -> list[Document]:
        cursor = self._c.find({"appointment_id": appointment_id}).sort("created_at", ASCENDING)
        return [_to_document(d) async for d in cursor.limit(limit)]

    async def chunks(self, document_id: str) -> AsyncIterator[bytes]:
        """The stored bytes, one GridFS chunk at a time."""
        stream = await self._bucket.open_download_stream(document_id)
        try:
            while chunk := await stream.readchunk():
                yield chunk
        finally:
            await stream.close()

    async def read_all(self, document_id: str) -> bytes:
        """The whole file (bounded by the upload cap), for the preview renderer."""
        stream = await self._bucket.open_download_stream(document_id)
        try:
            return await stream.read()
        finally:
            await stream.close()
