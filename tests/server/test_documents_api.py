"""Patients' documents through the real REST API on the real database (GridFS): typed by
content, capped while streaming, hashed, served sandboxed, previewed; refusals keep nothing."""

from __future__ import annotations

import asyncio
import hashlib
import io
from datetime import timedelta
from typing import Any

import aiohttp
import numpy as np
import pydicom
import pytest
from PIL import Image

from server import keys
from server.documents.samples import sample_dicom, sample_pdf, sample_png
from server.settings import DocumentSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, ok, problem

CAP = 256 * 1024
MAX_PIXELS = 512 * 512 * 4


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    clock = FakeClock(MONDAY)
    tuned = long_sessions(settings).with_(
        documents=DocumentSettings(document_max_bytes=CAP, document_max_pixels=MAX_PIXELS)
    )
    client = await make_client(tuned, clock=clock)
    return await Clinic.open(client, clock)


@pytest.fixture
async def visit(clinic: Clinic) -> dict[str, Any]:
    return await clinic.booked(clinic.patient_a, clinic.doctor, MONDAY + timedelta(hours=1))


def form(
    data: bytes,
    *,
    kind: str = "diagnosis",
    title: str = "Report",
    name: str = "file.pdf",
    **more: str,
) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("kind", kind)
    body.add_field("title", title)
    for key, value in more.items():
        body.add_field(key, value)
    body.add_field("file", data, filename=name, content_type="application/octet-stream")
    return body


async def upload(
    clinic: Clinic, data: bytes, who: str = "patient_a", patient: str = "patient_a", **kw: Any
) -> Any:
    pid = getattr(clinic, patient)["id"]
    return await clinic.client.post(
        f"/api/v1/patients/{pid}/documents",
        data=form(data, **kw),
        headers=clinic.h(getattr(clinic, who)),
    )


async def stored(clinic: Clinic) -> tuple[int, int, int]:
    """(descriptions, GridFS files, GridFS chunks): what a refused upload must not change."""
    database = clinic.client.app[keys.DATABASE].db
    return (
        await database["documents"].count_documents({}),
        await database["documents.files"].count_documents({}),
        await database["documents.chunks"].count_documents({}),
    )


async def test_pdf_upload_is_typed_hashed_and_served_as_attachment(clinic: Clinic) -> None:
    pdf = sample_pdf("Hypertension, 2025")
    body = await ok(await upload(clinic, pdf, name="photo.jpg"), 201)
    doc = body["document"]
    assert doc["content_type"] == "application/pdf"
    assert doc["size"] == len(pdf)
    assert doc["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert doc["uploaded_by"] == {"id": clinic.patient_a["id"], "role": "patient"}
    assert doc["dicom"] is None
    response = await clinic.client.get(
        f"/api/v1/documents/{doc['id']}/content", headers=clinic.h(clinic.patient_a)
    )
    assert response.status == 200
    assert await response.read() == pdf
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Security-Policy"].startswith("sandbox")
    assert response.headers["Content-Disposition"].startswith("attachment")


async def test_dicom_is_described_and_previewed_with_windows(clinic: Clinic) -> None:
    dcm = sample_dicom(rows=64, columns=48, frames=3)
    doc = (await ok(await upload(clinic, dcm, kind="imaging", name="ct.dcm"), 201))["document"]
    assert doc["content_type"] == "application/dicom"
    assert doc["dicom"] == {
        "modality": "CT",
        "study_date": "2026-11-02",
        "rows": 64,
        "columns": 48,
        "frames": 3,
    }
    h = clinic.h(clinic.patient_a)
    base = f"/api/v1/documents/{doc['id']}/preview.png"
    own = await clinic.client.get(base + "?frame=2", headers=h)
    assert own.status == 200
    assert own.headers["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(await own.read()))
    assert image.size == (48, 64)
    narrow = await clinic.client.get(base + "?frame=2&window=1&level=60", headers=h)
    wide = Image.open(io.BytesIO(await narrow.read()))
    # A one-unit window at the disc's value: the disc white, the field black.
    assert np.unique(np.asarray(wide)).tolist() == [0, 255]
    assert np.unique(np.asarray(image)).tolist() != [0, 255]
    await problem(await clinic.client.get(base + "?frame=3", headers=h), 422, "preview_unavailable")
    await problem(await clinic.client.get(base + "?window=10", headers=h), 422, "invalid_input")
    attachment = await clinic.client.get(f"/api/v1/documents/{doc['id']}/content", headers=h)
    assert attachment.headers["Content-Disposition"].startswith("attachment")


async def test_photo_preview_is_scaled_down_and_served_inline(clinic: Clinic) -> None:
    png = sample_png(2048, 1024)
    doc = (await ok(await upload(clinic, png, kind="photo", name="x.pdf"), 201))["document"]
    assert doc["content_type"] == "image/png"
    h = clinic.h(clinic.patient_a)
    preview = await clinic.client.get(f"/api/v1/documents/{doc['id']}/preview.png", headers=h)
    assert Image.open(io.BytesIO(await preview.read())).size == (1024, 512)
    content = await clinic.client.get(f"/api/v1/documents/{doc['id']}/content", headers=h)
    assert content.headers["Content-Disposition"].startswith("inline")


def huge_dicom() -> bytes:
    """A small file whose header claims 4096 x 4096 x 100 pixels."""
    ds = pydicom.dcmread(io.BytesIO(sample_dicom(rows=8, columns=8)))
    ds.Rows, ds.Columns, ds.NumberOfFrames = 4096, 4096, 100
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"", 415, "unsupported_media_type"),
        (b"MZ\x90\x00" + b"\x00" * 400, 415, "unsupported_media_type"),  # an .exe named .pdf
        (b"<html><script>alert(1)</script></html>", 415, "unsupported_media_type"),
        (sample_pdf()[:-200], 422, "malformed_document"),  # truncated PDF
        (b"\x00" * 128 + b"DICM" + b"\x02\x00garbage" * 20, 422, "malformed_document"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, 422, "malformed_document"),  # a broken PNG
        (huge_dicom(), 422, "image_too_large"),
    ],
    ids=["empty", "exe", "html", "truncated-pdf", "malformed-dicom", "broken-png", "huge-dicom"],
)
async def test_refused_uploads_keep_nothing(
    clinic: Clinic, data: bytes, status: int, code: str
) -> None:
    before = await stored(clinic)
    await problem(await upload(clinic, data), status, code)
    assert await stored(clinic) == before


async def test_the_cap_is_exact_and_refusal_aborts_the_gridfs_upload(clinic: Clinic) -> None:
    # A JPEG header padded to the cap: at the cap accepted... as far as the type goes (it is
    # then refused as a broken image); one byte more is refused as too large, streamed.
    exact = b"\xff\xd8\xff" + b"\x00" * (CAP - 3)
    before = await stored(clinic)
    await problem(await upload(clinic, exact), 422, "malformed_document")
    await problem(await upload(clinic, exact + b"\x00"), 413, "payload_too_large")
    assert await stored(clinic) == before
    # Declared far beyond the cap: refused before a byte of it is read.
    far = await clinic.client.post(
        f"/api/v1/patients/{clinic.patient_a['id']}/documents",
        data=b"x" * (CAP * 2),
        headers={**clinic.h(clinic.patient_a), "Content-Type": "multipart/form-data; boundary=b"},
    )
    await problem(far, 413, "payload_too_large")
    assert await stored(clinic) == before
    pdf = sample_pdf()
    fitting = pdf + b"\n" * (CAP - len(pdf) - 6) + b"%%EOF\n"
    assert len(fitting) == CAP
    assert (await ok(await upload(clinic, fitting), 201))["document"]["size"] == CAP


async def test_form_errors_keep_nothing(clinic: Clinic) -> None:
    before = await stored(clinic)
    await problem(await upload(clinic, sample_pdf(), kind="selfie"), 422, "invalid_input")
    await problem(await upload(clinic, sample_pdf(), title=" "), 422, "invalid_input")
    for spoof in ("Lab \u202etxt.exe", "Report\u200b", "X-ray\x1b[2J"):
        refused = await problem(
            await upload(clinic, sample_pdf(), title=spoof), 422, "invalid_input"
        )
        assert refused["errors"][0]["field"] == "title"
        assert "must not contain the character U+" in refused["errors"][0]["message"]
    await problem(await upload(clinic, sample_pdf(), appointment_id="0" * 24), 422, "invalid_input")
    json_body = await clinic.client.post(
        f"/api/v1/patients/{clinic.patient_a['id']}/documents",
        json={"file": "x"},
        headers=clinic.h(clinic.patient_a),
    )
    await problem(json_body, 415, "unsupported_media_type")
    assert await stored(clinic) == before


async def test_concurrent_uploads_and_reads(clinic: Clinic) -> None:
    first = (await ok(await upload(clinic, sample_pdf("first")), 201))["document"]
    h = clinic.h(clinic.patient_a)

    async def read() -> bytes:
        response = await clinic.client.get(f"/api/v1/documents/{first['id']}/content", headers=h)
        return await response.read()

    pdfs = [sample_pdf(f"report {i}") for i in range(4)]
    results = await asyncio.gather(
        *(upload(clinic, pdf) for pdf in pdfs), *(read() for _ in range(4))
    )
    for pdf, response in zip(pdfs, results[:4], strict=True):
        assert (await ok(response, 201))["document"]["sha256"] == hashlib.sha256(pdf).hexdigest()
    assert all(hashlib.sha256(r).hexdigest() == first["sha256"] for r in results[4:])
    page = await ok(
        await clinic.client.get(f"/api/v1/patients/{clinic.patient_a['id']}/documents", headers=h)
    )
    assert len(page["documents"]) == 5


async def test_access_is_the_records(clinic: Clinic, visit: dict[str, Any]) -> None:
    doc = (
        await ok(
            await upload(
                clinic, sample_pdf(), who="doctor", appointment_id=visit["id"], kind="lab_report"
            ),
            201,
        )
    )["document"]
    assert doc["appointment_id"] == visit["id"]
    assert doc["uploaded_by"]["role"] == "doctor"
    for stranger in (clinic.patient_b, clinic.other_doctor):
        h = clinic.h(stranger)
        for suffix in ("", "/content", "/preview.png"):
            await problem(
                await clinic.client.get(f"/api/v1/documents/{doc['id']}{suffix}", headers=h),
                404,
                "not_found",
            )
        await problem(
            await clinic.client.get(
                f"/api/v1/patients/{clinic.patient_a['id']}/documents", headers=h
            ),
            404,
            "not_found",
        )
    await problem(await upload(clinic, sample_pdf(), who="other_doctor"), 404, "not_found")
    await problem(await upload(clinic, sample_pdf(), who="patient_b"), 404, "not_found")
    kinds = await ok(
        await clinic.client.get(
            f"/api/v1/patients/{clinic.patient_a['id']}/documents?kind=diagnosis",
            headers=clinic.h(clinic.patient_a),
        )
    )
    assert kinds["documents"] == []
    repos = await clinic.repos()
    rows = await repos.audit.query(limit=100)
    actions = {entry.action for _, entry in rows}
    assert {"document.create", "document.read", "document.list"} <= actions


async def test_uploads_per_patient_are_limited_and_a_refused_one_keeps_nothing(
    make_client: AppFactory, settings: Settings
) -> None:
    """``TELEMED_DOCUMENT_UPLOAD_LIMIT`` counts uploads for one patient, whoever uploads (the
    patient or their doctor), before the body is read: past it, 429 with ``Retry-After``, and
    nothing is stored. Concurrent uploads cannot all pass. Another patient is not affected; a
    stranger's upload is refused for its right first and does not spend the patient's budget."""
    clock = FakeClock(MONDAY)
    tuned = long_sessions(settings).with_(
        documents=DocumentSettings(document_max_bytes=CAP, document_upload_limit="3/day")
    )
    clinic = await Clinic.open(await make_client(tuned, clock=clock), clock)
    await clinic.booked(clinic.patient_a, clinic.doctor, MONDAY + timedelta(hours=1))
    stranger = await upload(clinic, sample_pdf(), who="patient_b")
    assert stranger.status == 404
    results = await asyncio.gather(
        *(upload(clinic, sample_pdf(f"r{i}")) for i in range(4)),
        upload(clinic, sample_pdf("by the doctor"), who="doctor"),
    )
    statuses = sorted(r.status for r in results)
    assert statuses == [201, 201, 201, 429, 429]
    before = await stored(clinic)
    refused = await upload(clinic, sample_pdf())
    await problem(refused, 429, "rate_limited")
    assert int(refused.headers["Retry-After"]) > 0
    assert await stored(clinic) == before
    other = await upload(clinic, sample_pdf(), who="patient_b", patient="patient_b")
    assert other.status == 201
