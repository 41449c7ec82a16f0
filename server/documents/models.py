"""Query and response models of the documents endpoints."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.documents import ContentType, DicomInfo, Document, DocumentKind
from server.http.pagination import PageQuery
from server.http.types import UtcDateTime
from server.records.models import AuthorOut


class DicomOut(BaseModel):
    modality: str | None
    study_date: date | None
    rows: int | None
    columns: int | None
    frames: int

    @classmethod
    def of(cls, info: DicomInfo) -> DicomOut:
        return cls(
            modality=info.modality,
            study_date=info.study_date,
            rows=info.rows,
            columns=info.columns,
            frames=info.frames,
        )


class DocumentOut(BaseModel):
    id: str
    patient_id: str
    kind: DocumentKind
    title: str
    content_type: ContentType
    size: int
    sha256: str
    uploaded_by: AuthorOut
    appointment_id: str | None
    created_at: UtcDateTime
    dicom: DicomOut | None = None

    @classmethod
    def of(cls, document: Document) -> DocumentOut:
        return cls(
            id=document.id,
            patient_id=document.patient_id,
            kind=document.kind,
            title=document.title,
            content_type=document.content_type,
            size=document.size,
            sha256=document.sha256,
            uploaded_by=AuthorOut.of(document.uploaded_by),
            appointment_id=document.appointment_id,
            created_at=document.created_at,
            dicom=DicomOut.of(document.dicom) if document.dicom else None,
        )


class DocumentEnvelope(BaseModel):
    document: DocumentOut


class DocumentsPage(BaseModel):
    documents: list[DocumentOut]
    next_cursor: str | None


class DocumentsQuery(PageQuery):
    kind: DocumentKind | None = None


class PreviewQuery(BaseModel):
    """``window`` and ``level`` (its centre) override the file's own display window; give both
    or neither."""

    model_config = ConfigDict(extra="forbid")

    frame: int = Field(default=0, ge=0, le=100_000)
    window: float | None = Field(default=None, gt=0, le=1e7)
    level: float | None = Field(default=None, ge=-1e7, le=1e7)

    @model_validator(mode="after")
    def _both_or_neither(self) -> PreviewQuery:
        if (self.window is None) != (self.level is None):
            raise ValueError("give both window and level, or neither")
        return self
