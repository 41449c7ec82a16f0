"""What the patient takes home from the visit: the summary with the documents shared in the
call, the PDF of it in Chinese and in English (read back with pypdf), the patient's list of
summaries (object-level authorization, audited) and the summary in the FHIR export (a
Composition, LOINC 34133-9)."""

from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path
from typing import Any

from pypdf import PdfReader

from domain.users import Role
from server.documents.samples import sample_pdf
from server.records.fhir import full_url
from server.settings import DocumentSettings, Settings
from tests.conftest import bearer
from tests.server.test_fhir_export import assert_valid_fhir
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_chat_attachments import upload
from tests.signaling.test_visit_summary import call
from tests.support.hub import Clinic, in_call

PLAN = {
    "diagnosis": "急性支气管炎 Acute bronchitis",
    "advice": "多喝水，注意休息。Rest and drink plenty.",
    "follow_up_note": "复查胸部 Listen to the chest again",
}


async def summarised(clinic: Clinic) -> dict[str, Any]:
    """A consultation in progress with a document shared, a prescription and a summary."""
    doctor = await clinic.user(Role.DOCTOR, name="Dr Li 李医生")
    patient = await clinic.user(Role.PATIENT, name="Wang Fang 王芳")
    appointment = await clinic.appointment(patient, doctor)
    report = await upload(clinic, patient, sample_pdf(), "diagnosis")
    p, d = await in_call(clinic, patient, doctor, appointment)
    for n in (1, 2):  # shared twice: listed once
        ack = await p.call(
            "chat:send",
            {
                "appointment_id": appointment,
                "client_msg_id": f"doc{n}",
                "document_id": report["id"],
            },
        )
        assert ack["ok"], ack
    visit_day = clinic.clock.now.date()
    rx = {
        "appointment_id": appointment,
        "drug": "Amoxicillin 阿莫西林",
        "dose": "500 mg",
        "times": ["08:00", "20:00"],
        "start_date": visit_day.isoformat(),
        "days": 7,
    }
    status, _ = await call(clinic, "POST", f"/patients/{patient['id']}/prescriptions", doctor, rx)
    assert status == 201
    follow_up = (visit_day + timedelta(days=14)).isoformat()
    status, written = await call(
        clinic,
        "PUT",
        f"/appointments/{appointment}/summary",
        doctor,
        {**PLAN, "follow_up_date": follow_up},
    )
    assert status == 200, written
    return {
        "doctor": doctor,
        "patient": patient,
        "appointment": appointment,
        "report": report,
        "written": written,
        "follow_up": follow_up,
        "sockets": (p, d),
    }


async def pdf(
    clinic: Clinic, appointment: str, who: dict[str, Any], lang: str | None
) -> tuple[int, str, bytes]:
    query = f"?lang={lang}" if lang is not None else ""
    response = await clinic.client.get(
        f"/api/v1/appointments/{appointment}/summary.pdf{query}",
        headers=bearer(who["access_token"]),
    )
    return response.status, response.content_type, await response.read()


def text_of(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


async def test_the_summary_lists_each_shared_document_once(clinic: Clinic) -> None:
    visit = await summarised(clinic)
    report = visit["report"]
    expected = [
        {
            "document_id": report["id"],
            "kind": "diagnosis",
            "title": report["title"],
            "content_type": "application/pdf",
            "size": report["size"],
        }
    ]
    assert visit["written"]["documents"] == expected
    p, _ = visit["sockets"]
    heard = await p.wait_for("summary:updated")
    assert heard["documents"] == expected


async def test_the_pdf_in_chinese_and_in_english(clinic: Clinic) -> None:
    visit = await summarised(clinic)
    appointment, patient, doctor = visit["appointment"], visit["patient"], visit["doctor"]

    status, ctype, data = await pdf(clinic, appointment, patient, "zh")
    assert (status, ctype) == (200, "application/pdf")
    assert data.startswith(b"%PDF-")
    zh = text_of(data)
    for words in (
        "就诊小结",
        "急性支气管炎",
        "多喝水",
        "阿莫西林",
        "王芳",
        "李医生",
        visit["follow_up"],
    ):
        assert words in zh, words
    assert "My diagnosis" in zh  # the shared document's title
    assert "After-visit summary" not in zh

    status, _, data = await pdf(clinic, appointment, doctor, "en")
    assert status == 200
    en = text_of(data)
    for words in ("After-visit summary", "Acute bronchitis", "Amoxicillin", "Follow-up"):
        assert words in en, words
    assert "就诊小结" not in en

    # Chinese by default; any other language is refused.
    status, _, data = await pdf(clinic, appointment, patient, None)
    assert status == 200
    assert "就诊小结" in text_of(data)
    status, ctype, _ = await pdf(clinic, appointment, patient, "fr")
    assert (status, ctype) == (422, "application/problem+json")


async def test_the_pdf_is_for_the_participants_only_and_audited(clinic: Clinic) -> None:
    visit = await summarised(clinic)
    appointment = visit["appointment"]
    admin = await clinic.user(Role.ADMIN)
    strangers = [await clinic.user(role) for role in (Role.DOCTOR, Role.PATIENT, Role.PHARMACIST)]
    for stranger in (*strangers, admin):
        # The PDF and the summary answer alike, through one check: 404, admins too.
        status, ctype, _ = await pdf(clinic, appointment, stranger, "en")
        assert (status, ctype) == (404, "application/problem+json"), stranger["role"]
        summary = await call(clinic, "GET", f"/appointments/{appointment}/summary", stranger)
        assert summary[0] == 404, stranger["role"]
        assert summary[1]["type"].endswith("not_found")
    assert (await pdf(clinic, appointment, visit["patient"], "en"))[0] == 200

    status, audit = await call(
        clinic, "GET", f"/admin/audit?patient={visit['patient']['id']}", admin
    )
    assert status == 200
    reads = [
        e
        for e in audit["entries"]
        if e["action"] == "summary.read" and (e.get("details") or {}).get("format") == "pdf"
    ]
    assert reads
    _, mine = await call(clinic, "GET", f"/admin/audit?actor={admin['id']}", admin)
    refused = [e for e in mine["entries"] if e["action"] == "summary.read"]
    assert len(refused) == 2  # the admin's summary and PDF, both refused and recorded
    assert {(e["outcome"], e["resource_id"]) for e in refused} == {("denied", appointment)}
    assert reads[0]["resource_id"] == appointment
    assert "bronchitis" not in str(audit)


async def test_without_the_font_the_pdf_is_a_clear_503(
    make_clinic: ClinicFactory, settings: Settings, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-font.ttc"
    clinic = await make_clinic(settings.with_(documents=DocumentSettings(summary_font=missing)))
    visit = await summarised(clinic)
    response = await clinic.client.get(
        f"/api/v1/appointments/{visit['appointment']}/summary.pdf?lang=zh",
        headers=bearer(visit["patient"]["access_token"]),
    )
    assert response.status == 503
    assert response.content_type == "application/problem+json"
    assert (await response.json())["code"] == "summary_font_missing"


async def test_the_patients_list_of_summaries(clinic: Clinic) -> None:
    visit = await summarised(clinic)
    patient, doctor = visit["patient"], visit["doctor"]
    path = f"/patients/{patient['id']}/summaries"

    status, page = await call(clinic, "GET", path, patient)
    assert status == 200
    assert page == {
        "summaries": [
            {
                "appointment_id": visit["appointment"],
                "visit_start": page["summaries"][0]["visit_start"],
                "doctor": {"id": doctor["id"], "name": "Dr Li 李医生"},
                "summary": visit["written"]["summary"],
            }
        ]
    }
    # Their doctor reads it too; another patient, or a doctor without a care relationship, 404.
    assert (await call(clinic, "GET", path, doctor))[0] == 200
    for stranger in (await clinic.user(Role.PATIENT), await clinic.user(Role.DOCTOR)):
        assert (await call(clinic, "GET", path, stranger))[0] == 404
    # A patient with no summary: an empty list.
    other = await clinic.user(Role.PATIENT)
    assert await call(clinic, "GET", f"/patients/{other['id']}/summaries", other) == (
        200,
        {"summaries": []},
    )

    admin = await clinic.user(Role.ADMIN)
    _, audit = await call(clinic, "GET", f"/admin/audit?patient={patient['id']}", admin)
    assert [e for e in audit["entries"] if e["action"] == "summary.list"]


async def test_the_summary_is_a_composition_in_the_fhir_export(clinic: Clinic) -> None:
    visit = await summarised(clinic)
    patient = visit["patient"]
    response = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/fhir", headers=bearer(patient["access_token"])
    )
    assert response.status == 200
    bundle = await response.json()
    assert_valid_fhir(bundle)
    compositions = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Composition"
    ]
    assert len(compositions) == 1
    c = compositions[0]
    assert c["type"]["coding"][0]["code"] == "34133-9"
    assert c["subject"]["reference"] == full_url("Patient", patient["id"])
    assert c["author"][0]["reference"] == full_url("Practitioner", visit["doctor"]["id"])
    assert c["encounter"]["reference"] == full_url("Encounter", visit["appointment"])
    assert c["status"] == "final"
    text = str(c["section"])
    assert "急性支气管炎" in text
    assert visit["follow_up"] in text
