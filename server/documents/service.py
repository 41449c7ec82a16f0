"""Use cases of patients' documents: streamed uploads into GridFS, reads, previews.

Access is the record's (``RecordService.patient_for``): the patient, or a doctor with a (not
cancelled) appointment with that patient; anyone else gets ``NotFound``, also for a document id.

An upload is streamed: every chunk is counted against the cap, hashed (SHA-256), written to the
GridFS upload stream and spooled to a temporary file (memory up to a megabyte, then disk) for
the checks that need the whole file (a DICOM header, an image's decoding). Any refusal (type,
size, validation, a dropped connection) aborts the GridFS upload: nothing is kept.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import IO, TypeVar

from domain.clock import Clock
from domain.documents import (
    PDF_TAIL_BYTES,
    SNIFF_BYTES,
    ContentType,
    DicomInfo,
    Document,
    DocumentKind,
    Window,
    check_pdf_tail,
    sniff,
)
from domain.errors import InvalidInput, NotFound, PayloadTooLarge
from domain.ids import new_id
from domain.records import Author
from domain.text import text_problem
from domain.users import Principal, Role
from server.documents import imaging
from server.http.problems import FieldError
from server.records.service import RecordService
from storage.mongo import Repositories
from storage.paging import After, Page

T = TypeVar("T")
SPOOL_IN_MEMORY = 1024 * 1024
TITLE_MAX = 200


@dataclass(frozen=True, slots=True)
class DocumentLimits:
    max_bytes: int
    max_pixels: int
    workers: int


def _invalid(field_name: str, message: str) -> InvalidInput:
    return InvalidInput(
        f"{field_name}: {message}",
        details=[FieldError(field=field_name, message=message, type="value_error")],
    )


class Upload:
    """One upload in progress: ``write`` each chunk, then ``finish`` or ``abort``."""

    def __init__(self, service: DocumentService, author: Author, patient_id: str) -> None:
        self.service = service
        self.author = author
        self.patient_id = patient_id
        self.id = new_id()
        self.size = 0
        self.head = b""
        self.tail = b""
        self._hash = hashlib.sha256()
        # Closed by finish() or abort(), which the route always calls.
        self._spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)  # noqa: SIM115
        self._done = False
        self._grid = service.repos.documents.open_upload(self.id)

    async def write(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.size > self.service.limits.max_bytes:
            raise PayloadTooLarge(f"the file is larger than {self.service.limits.max_bytes} bytes")
        if len(self.head) < SNIFF_BYTES:
            self.head = (self.head + chunk)[:SNIFF_BYTES]
        self.tail = (self.tail + chunk)[-PDF_TAIL_BYTES:]
        self._hash.update(chunk)
        self._spool.write(chunk)
        await self._grid.write(chunk)

    async def finish(
        self, *, kind: str | None, title: str | None, appointment_id: str | None
    ) -> Document:
        """Check the content and the fields, then keep the file and describe it."""
        content_type = sniff(self.head)
        if content_type is ContentType.PDF:
            check_pdf_tail(self.tail)
        try:
            document_kind = DocumentKind(kind or "")
        except ValueError:
            raise _invalid("kind", "one of " + "|".join(k.value for k in DocumentKind)) from None
        text = (title or "").strip()
        if not text or len(text) > TITLE_MAX:
            raise _invalid("title", f"1 to {TITLE_MAX} characters")
        if (problem := text_problem(text, multiline=False)) is not None:
            raise _invalid("title", problem)  # the doctor reads it (domain/text.py)
        if appointment_id is not None:
            await self.service.check_appointment(self.author, self.patient_id, appointment_id)
        dicom: DicomInfo | None = None
        self._spool.seek(0)
        limits = self.service.limits
        if content_type is ContentType.DICOM:
            dicom = await self.service.off_loop(
                lambda: imaging.read_dicom_info(self._spool, max_pixels=limits.max_pixels)
            )
        elif content_type.is_image:
            await self.service.off_loop(lambda: imaging.verify_image(self._spool))
        await self._grid.close()
        self._done = True
        self._spool.close()
        document = Document(
            id=self.id,
            patient_id=self.patient_id,
            kind=document_kind,
            title=text,
            content_type=content_type,
            size=self.size,
            sha256=self._hash.hexdigest(),
            uploaded_by=self.author,
            appointment_id=appointment_id,
            created_at=self.service.clock(),
            dicom=dicom,
        )
        await self.service.repos.documents.describe(document)
        return document

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._spool.close()
        await self._grid.abort()


class DocumentService:
    def __init__(
        self,
        repos: Repositories,
        records: RecordService,
        *,
        limits: DocumentLimits,
        clock: Clock,
    ) -> None:
        self.repos = repos
        self.limits = limits
        self.clock = clock
        self._records = records
        self._workers = asyncio.Semaphore(limits.workers)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """CPU work (pixel decoding, parsing) in a worker thread, a bounded number at once."""
        async with self._workers:
            return await asyncio.to_thread(work)

    async def check_appointment(self, author: Author, patient_id: str, appointment_id: str) -> None:
        appointment = await self.repos.appointments.get(appointment_id)
        if (
            appointment is None
            or appointment.patient_id != patient_id
            or (author.role is Role.DOCTOR and appointment.doctor_id != author.id)
        ):
            raise _invalid("appointment_id", "not an appointment of this patient")

    async def begin(self, principal: Principal, patient_id: str) -> Upload:
        """Start an upload to the patient's documents (``NotFound`` for a stranger)."""
        await self._records.patient_for(principal, patient_id)
        return Upload(self, Author(id=principal.user_id, role=principal.role), patient_id)

    async def store(
        self,
        author: Author,
        patient_id: str,
        data: bytes,
        *,
        kind: DocumentKind,
        title: str,
        appointment_id: str | None = None,
    ) -> Document:
        """Store bytes the server itself holds (the demo clinic's samples), with every check an
        upload gets; the caller vouches for ``author``'s access."""
        upload = Upload(self, author, patient_id)
        try:
            for offset in range(0, max(len(data), 1), 64 * 1024):
                await upload.write(data[offset : offset + 64 * 1024])
            return await upload.finish(kind=kind.value, title=title, appointment_id=appointment_id)
        except BaseException:
            await upload.abort()
            raise

    async def get(self, principal: Principal, document_id: str) -> Document:
        document = await self.repos.documents.get(document_id)
        if document is None:
            raise NotFound("no such document")
        try:
            await self._records.patient_for(principal, document.patient_id)
        except NotFound:
            raise NotFound("no such document") from None
        return document

    async def page(
        self,
        principal: Principal,
        patient_id: str,
        *,
        kind: DocumentKind | None,
        after: After | None,
        limit: int,
    ) -> Page[Document]:
        await self._records.patient_for(principal, patient_id)
        return await self.repos.documents.page(patient_id, kind=kind, after=after, limit=limit)

    async def for_appointment(self, appointment_id: str) -> list[Document]:
        """The documents attached to one appointment, oldest first (for a visit's summary; the
        caller has already checked access to the appointment)."""
        return await self.repos.documents.for_appointment(appointment_id)

    def content(self, document: Document) -> AsyncIterator[bytes]:
        return self.repos.documents.chunks(document.id)

    async def preview(self, document: Document, *, frame: int, window: Window | None) -> bytes:
        data = await self.repos.documents.read_all(document.id)
        max_pixels = self.limits.max_pixels
        return await self.off_loop(
            lambda: imaging.render_preview(
                document.content_type, data, frame=frame, window=window, max_pixels=max_pixels
            )
        )
