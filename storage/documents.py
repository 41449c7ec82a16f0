"""Patients' documents: the bytes in GridFS (bucket ``documents``: ``documents.files`` and
``documents.chunks``), the description in the ``documents`` collection, both under one id.

Nothing here deletes a stored document (retention): an upload's ``abort`` only discards an
upload that was refused before it was described.

With field encryption on (``storage/field_crypto.py``) the bytes are sealed before GridFS sees
them: the file is a sequence of **frames**, each a 4-byte big-endian length and one encrypted
value (BSON binary subtype 6, AEAD_AES_256_CBC_HMAC_SHA_512-Random) holding a header (the
frame's index, whether it is the last, the document's id) and up to :data:`SEALED_BLOCK` bytes
of the document, so a frame changed, moved, removed, swapped from another document or cut off
at the end is refused; the GridFS file's metadata says ``sealed: "frames-v1"``. Reads open the
frames as they stream; a file stored before encryption was turned on (no ``sealed``) is served
as it is. The description's ``size`` and ``sha256`` are the plain document's."""

from __future__ import annotations

import struct
from collections.abc import AsyncIterator
from datetime import date
from typing import Any, Protocol

from bson.binary import Binary
from gridfs import AsyncGridFSBucket
from gridfs.asynchronous.grid_file import AsyncGridIn
from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from domain.documents import ContentType, DicomInfo, Document, DocumentKind
from storage.field_crypto import ENCRYPTED, FieldCipher, FieldEncryptionError, reveal
from storage.paging import After, Page, find_page
from storage.patient_items import author_doc, to_author

Doc = dict[str, Any]
BUCKET = "documents"
CHUNK_BYTES = 255 * 1024  # GridFS's default chunk size
SEALED_BLOCK = 64 * 1024  # plain bytes per sealed frame
SEALED = "frames-v1"
FRAME_LENGTH = 4


class UploadStream(Protocol):
    """An upload in progress: ``write`` chunks, then ``close`` to keep it or ``abort`` to
    discard every chunk written so far."""

    async def write(self, data: bytes) -> None: ...

    async def close(self) -> None: ...

    async def abort(self) -> None: ...


def _frame_header(document_id: str, index: int, *, last: bool) -> bytes:
    """What each frame's plain text starts with, binding it to its document and place (the
    encryption authenticates each value, not where it is stored)."""
    name = document_id.encode()
    return struct.pack(">IB", index, 1 if last else 0) + bytes([len(name)]) + name


class _SealedUpload:
    """Writes the document as sealed frames of :data:`SEALED_BLOCK` plain bytes, the last one
    marked (never empty unless the document is)."""

    def __init__(self, grid: AsyncGridIn, cipher: FieldCipher, document_id: str) -> None:
        self._grid = grid
        self._cipher = cipher
        self._id = document_id
        self._index = 0
        self._buffer = bytearray()

    async def write(self, data: bytes) -> None:
        self._buffer += data
        while len(self._buffer) > SEALED_BLOCK:  # what is left at the end is the last frame
            await self._frame(bytes(self._buffer[:SEALED_BLOCK]), last=False)
            del self._buffer[:SEALED_BLOCK]

    async def _frame(self, block: bytes, *, last: bool) -> None:
        header = _frame_header(self._id, self._index, last=last)
        sealed = bytes(await self._cipher.seal_bytes(header + block))
        await self._grid.write(len(sealed).to_bytes(FRAME_LENGTH, "big") + sealed)
        self._index += 1

    async def close(self) -> None:
        await self._frame(bytes(self._buffer), last=True)
        self._buffer.clear()
        await self._grid.close()

    async def abort(self) -> None:
        await self._grid.abort()


def _open_frame(document_id: str, index: int, plain: bytes) -> tuple[bytes, bool]:
    """The document's bytes in a frame and whether it is the last; refuses a frame of another
    document or place."""
    last = _frame_header(document_id, index, last=True)
    following = _frame_header(document_id, index, last=False)
    for header, is_last in ((following, False), (last, True)):
        if plain.startswith(header):
            return plain[len(header) :], is_last
    raise FieldEncryptionError(
        f"document {document_id}: frame {index} is not this document's frame {index} "
        "(frames were moved, removed or swapped)"
    )


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
    def __init__(self, db: AsyncDatabase[Doc], *, cipher: FieldCipher | None = None) -> None:
        self._c: AsyncCollection[Doc] = db[BUCKET]
        self._bucket = AsyncGridFSBucket(db, bucket_name=BUCKET, chunk_size_bytes=CHUNK_BYTES)
        self._cipher = cipher

    async def ensure_indexes(self) -> None:
        await self._c.create_index(
            [("patient_id", ASCENDING), ("created_at", DESCENDING), ("_id", DESCENDING)],
            name="patient",
        )
        await self._c.create_index(
            [("appointment_id", ASCENDING), ("created_at", ASCENDING)], name="appointment"
        )

    def open_upload(self, document_id: str) -> UploadStream:
        """A GridFS upload stream under ``document_id`` (sealing when encryption is on)."""
        if self._cipher is None:
            return self._bucket.open_upload_stream_with_id(document_id, document_id)
        grid = self._bucket.open_upload_stream_with_id(
            document_id, document_id, metadata={"sealed": SEALED}
        )
        return _SealedUpload(grid, self._cipher, document_id)

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
        """The document's bytes, one GridFS chunk (or, sealed, one frame) at a time."""
        stream = await self._bucket.open_download_stream(document_id)
        try:
            if (stream.metadata or {}).get("sealed") is None:
                while chunk := await stream.readchunk():
                    yield chunk
                return
            if (stream.metadata or {}).get("sealed") != SEALED:
                raise FieldEncryptionError(f"document {document_id}: unknown sealing")
            buffer = bytearray()
            index = 0
            ended = False
            while chunk := await stream.readchunk():
                buffer += chunk
                while len(buffer) >= FRAME_LENGTH:
                    size = int.from_bytes(buffer[:FRAME_LENGTH], "big")
                    if len(buffer) < FRAME_LENGTH + size:
                        break
                    frame = Binary(bytes(buffer[FRAME_LENGTH : FRAME_LENGTH + size]), ENCRYPTED)
                    del buffer[: FRAME_LENGTH + size]
                    if ended:
                        raise FieldEncryptionError(f"document {document_id}: frames after the last")
                    data, ended = _open_frame(document_id, index, await reveal(self._cipher, frame))
                    index += 1
                    if data:
                        yield data
            if buffer or not ended:
                raise FieldEncryptionError(f"document {document_id}: its last frame is missing")
        finally:
            await stream.close()

    async def read_all(self, document_id: str) -> bytes:
        """The whole file (bounded by the upload cap), for the preview renderer."""
        return b"".join([chunk async for chunk in self.chunks(document_id)])
