"""REST endpoints of patients' documents (PROTOCOL.md, "Documents").

The upload reads ``multipart/form-data`` itself, a chunk at a time (the app's body cap is for
JSON bodies; documents have their own, ``TELEMED_DOCUMENT_MAX_BYTES``). The bytes are served
with ``nosniff`` and a sandboxing CSP, PDF and DICOM as attachments.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import BodyPartReader, web
from limits import RateLimitItem, parse

from domain.documents import ContentType, Window
from domain.errors import MalformedRequest, PayloadTooLarge
from server import keys
from server.audit.recorder import audited
from server.documents.models import (
    DocumentEnvelope,
    DocumentOut,
    DocumentsPage,
    DocumentsQuery,
    PreviewQuery,
)
from server.documents.service import DocumentService, Upload
from server.http.api import Api, Call, UnsupportedMediaType
from server.http.pagination import decode_cursor, encode_cursor

api = Api()
TAGS = ["documents"]
CHUNK = 64 * 1024
FIELD_MAX = 1024  # the text fields (kind, title, appointment_id)
MULTIPART_OVERHEAD = 16 * 1024  # boundaries, part headers and the text fields
SANDBOX = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"
EXTENSIONS = {
    ContentType.PDF: "pdf",
    ContentType.JPEG: "jpg",
    ContentType.PNG: "png",
    ContentType.WEBP: "webp",
    ContentType.DICOM: "dcm",
}


def _service(call: Call) -> DocumentService:
    return call.app[keys.DOCUMENTS]


async def _field(part: BodyPartReader) -> str:
    data = b""
    while chunk := await part.read_chunk(FIELD_MAX):
        data += chunk
        if len(data) > FIELD_MAX:
            raise MalformedRequest(f"the form field {part.name!r} is too long")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedRequest(f"the form field {part.name!r} is not UTF-8") from None


async def _receive(call: Call, upload: Upload) -> DocumentOut:
    """Stream the form into ``upload``; the caller aborts it on any exception."""
    request = call.request
    fields: dict[str, str] = {}
    seen_file = False
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                raise MalformedRequest("nested multipart bodies are not accepted")
            if part.name == "file":
                if seen_file:
                    raise MalformedRequest("send one file")
                seen_file = True
                while chunk := await part.read_chunk(CHUNK):
                    await upload.write(chunk)
            elif part.name in ("kind", "title", "appointment_id"):
                if part.name in fields:
                    raise MalformedRequest(f"the form field {part.name!r} is given twice")
                fields[part.name] = await _field(part)
            else:
                raise MalformedRequest(f"unknown form field {part.name!r}")
    except (ValueError, AssertionError) as exc:  # aiohttp's refusals of a broken multipart body
        raise MalformedRequest(f"the multipart body is malformed: {exc}") from None
    if not seen_file:
        raise MalformedRequest("the form has no file part")
    document = await upload.finish(
        kind=fields.get("kind"),
        title=fields.get("title"),
        appointment_id=fields.get("appointment_id") or None,
    )
    return DocumentOut.of(document)


@lru_cache(maxsize=4)
def _parsed_limit(text: str) -> RateLimitItem:
    return parse(text)


def _upload_limit(call: Call) -> RateLimitItem:
    """``TELEMED_DOCUMENT_UPLOAD_LIMIT``: uploads per patient, whoever uploads."""
    return _parsed_limit(call.app[keys.SETTINGS].documents.document_upload_limit)


@api.post(
    "/patients/{patient_id}/documents",
    summary="Upload a document (multipart/form-data: file, kind, title, appointment_id?)",
    tags=TAGS,
    response=DocumentEnvelope,
    status=201,
    errors=[413, 415, 429],
)
async def upload_document(call: Call) -> DocumentEnvelope:
    pid = call.path("patient_id")
    limits = _service(call).limits
    async with audited(call, "document.create", patient_id=pid, resource_type="document") as scope:
        if call.request.content_type != "multipart/form-data":
            raise UnsupportedMediaType("send the document as multipart/form-data")
        declared = call.request.content_length
        if declared is not None and declared > limits.max_bytes + MULTIPART_OVERHEAD:
            raise PayloadTooLarge(f"the file is larger than {limits.max_bytes} bytes")
        upload = await _service(call).begin(call.principal, pid)  # the caller's right first
        try:
            await call.app[keys.RATE_LIMITER].hit(_upload_limit(call), "documents", pid)
            document = await _receive(call, upload)
        except BaseException:
            await upload.abort()
            raise
        scope.resource_id = document.id
        scope.details["content_type"] = document.content_type.value
        scope.details["size"] = document.size
    return DocumentEnvelope(document=document)


@api.get(
    "/patients/{patient_id}/documents",
    summary="A patient's documents, newest first",
    tags=TAGS,
    query=DocumentsQuery,
    response=DocumentsPage,
)
async def list_documents(call: Call) -> DocumentsPage:
    pid, query = call.path("patient_id"), call.query(DocumentsQuery)
    async with audited(call, "document.list", patient_id=pid, resource_type="document"):
        page = await _service(call).page(
            call.principal,
            pid,
            kind=query.kind,
            after=decode_cursor("documents", query.cursor),
            limit=query.limit,
        )
    return DocumentsPage(
        documents=[DocumentOut.of(d) for d in page.items],
        next_cursor=encode_cursor("documents", page.next),
    )


@api.get(
    "/documents/{document_id}",
    summary="One document's description",
    tags=TAGS,
    response=DocumentEnvelope,
)
async def get_document(call: Call) -> DocumentEnvelope:
    did = call.path("document_id")
    async with audited(
        call, "document.read", patient_id=None, resource_type="document", resource_id=did
    ) as scope:
        document = await _service(call).get(call.principal, did)
        scope.patient_id = document.patient_id
    return DocumentEnvelope(document=DocumentOut.of(document))


def _sandboxed(response: web.StreamResponse) -> None:
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX
    response.headers["Cache-Control"] = "private, no-store"


@api.get(
    "/documents/{document_id}/content",
    summary="A document's bytes (PDF and DICOM as attachments)",
    tags=TAGS,
)
async def document_content(call: Call) -> web.StreamResponse:
    did = call.path("document_id")
    async with audited(
        call, "document.read", patient_id=None, resource_type="document", resource_id=did
    ) as scope:
        service = _service(call)
        document = await service.get(call.principal, did)
        scope.patient_id = document.patient_id
        scope.details["part"] = "content"
    response = web.StreamResponse(status=200)
    response.content_type = document.content_type.value
    response.content_length = document.size
    disposition = "attachment" if document.content_type.download_only else "inline"
    name = f"{document.id}.{EXTENSIONS[document.content_type]}"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{name}"'
    response.headers["X-Checksum-SHA256"] = document.sha256
    _sandboxed(response)
    await response.prepare(call.request)
    async for chunk in service.content(document):
        await response.write(chunk)
    await response.write_eof()
    return response


@api.get(
    "/documents/{document_id}/preview.png",
    summary="A PNG preview: images scaled down, DICOM rendered with a display window",
    tags=TAGS,
    query=PreviewQuery,
    errors=[422],
)
async def document_preview(call: Call) -> web.StreamResponse:
    did, query = call.path("document_id"), call.query(PreviewQuery)
    window = (
        Window(center=query.level, width=query.window)
        if query.window is not None and query.level is not None
        else None
    )
    async with audited(
        call, "document.read", patient_id=None, resource_type="document", resource_id=did
    ) as scope:
        service = _service(call)
        document = await service.get(call.principal, did)
        scope.patient_id = document.patient_id
        scope.details["part"] = "preview"
        png = await service.preview(document, frame=query.frame, window=window)
    response = web.Response(body=png, content_type="image/png")
    _sandboxed(response)
    return response
