"""Documents a patient brings (PROTOCOL.md, "Documents"): what they are and how their type is
told. Pure: no I/O; the service streams the bytes and asks these functions about them.

The type comes from the content (magic bytes), never from the file name or the client's
``Content-Type``: a PNG renamed ``report.pdf`` is a PNG, an executable renamed ``scan.jpg`` is
refused.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime

from domain.errors import DomainError
from domain.records import Author


class DocumentKind(enum.StrEnum):
    DIAGNOSIS = "diagnosis"
    LAB_REPORT = "lab_report"
    IMAGING = "imaging"
    PRESCRIPTION = "prescription"
    PHOTO = "photo"
    OTHER = "other"


class ContentType(enum.StrEnum):
    PDF = "application/pdf"
    JPEG = "image/jpeg"
    PNG = "image/png"
    WEBP = "image/webp"
    DICOM = "application/dicom"

    @property
    def is_image(self) -> bool:
        return self in (ContentType.JPEG, ContentType.PNG, ContentType.WEBP)

    @property
    def download_only(self) -> bool:
        """Served as ``Content-Disposition: attachment`` (never rendered in the page)."""
        return self in (ContentType.PDF, ContentType.DICOM)


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


class MalformedDocument(DomainError):
    """The content starts like a supported type but is not a valid file of it."""

    code = "malformed_document"
    status = 422
    title = "Malformed document"


class ImageTooLarge(DomainError):
    """A DICOM whose rows x columns x frames exceed what the server decodes."""

    code = "image_too_large"
    status = 422
    title = "Image too large"


class PreviewUnavailable(DomainError):
    """Pixel data the server cannot decode (a compressed transfer syntax without its codec)."""

    code = "preview_unavailable"
    status = 422
    title = "Preview unavailable"


# Enough of the head to tell every supported type: DICOM's 128-byte preamble and "DICM".
SNIFF_BYTES = 132
# A PDF ends with "%%EOF" (and perhaps a line end and some padding) within its last kilobyte.
PDF_TAIL_BYTES = 1024


def sniff(head: bytes) -> ContentType:
    """The type of a file from its first :data:`SNIFF_BYTES` bytes (fewer if it is shorter)."""
    if head.startswith(b"%PDF-"):
        return ContentType.PDF
    if head.startswith(b"\xff\xd8\xff"):
        return ContentType.JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ContentType.PNG
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ContentType.WEBP
    if len(head) >= SNIFF_BYTES and head[128:132] == b"DICM":
        return ContentType.DICOM
    raise UnsupportedMediaType(
        "the file is not a PDF, JPEG, PNG, WebP or DICOM (Part 10) file"
        if head
        else "the file is empty"
    )


def check_pdf_tail(tail: bytes) -> None:
    """A PDF cut short (an interrupted upload, a truncated download) has no ``%%EOF``."""
    if b"%%EOF" not in tail[-PDF_TAIL_BYTES:]:
        raise MalformedDocument("the PDF is incomplete: it has no end-of-file marker")


@dataclass(frozen=True, slots=True)
class DicomInfo:
    modality: str | None
    study_date: date | None
    rows: int | None
    columns: int | None
    frames: int


def check_pixels(info: DicomInfo, *, max_pixels: int) -> None:
    """Refuse a study whose pixel count (rows x columns x frames) is beyond the cap."""
    if info.rows is None or info.columns is None:
        return
    if info.rows <= 0 or info.columns <= 0 or info.frames <= 0:
        raise MalformedDocument("the DICOM image has no rows, columns or frames")
    total = info.rows * info.columns * info.frames
    if total > max_pixels:
        raise ImageTooLarge(
            f"the DICOM image has {info.rows} x {info.columns} x {info.frames} pixels, "
            f"more than the {max_pixels} this server decodes"
        )


@dataclass(frozen=True, slots=True)
class Document:
    id: str
    patient_id: str
    kind: DocumentKind
    title: str
    content_type: ContentType
    size: int
    sha256: str
    uploaded_by: Author
    appointment_id: str | None
    created_at: datetime
    dicom: DicomInfo | None = None


@dataclass(frozen=True, slots=True)
class Window:
    """A display window: ``center`` +- ``width`` / 2 maps to black..white."""

    center: float
    width: float

    def __post_init__(self) -> None:
        if not self.width > 0:
            raise ValueError("a window's width is positive")
