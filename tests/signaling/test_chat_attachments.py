"""Documents in the chat over real sockets: a document of this consultation's patient, with or
without text, reaches both sides inline; the transcript and the FHIR export keep it; anyone
else's document is not found and nothing is stored."""

from __future__ import annotations

from typing import Any

import aiohttp

from domain.users import Role
from server.documents.samples import sample_dicom, sample_pdf
from tests.conftest import bearer
from tests.server.test_fhir_export import assert_valid_fhir
from tests.support.hub import Clinic, in_call


async def upload(clinic: Clinic, patient: dict[str, Any], data: bytes, kind: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("kind", kind)
    form.add_field("title", f"My {kind}")
    form.add_field("file", data, filename="x")
    response = await clinic.client.post(
        f"/api/v1/patients/{patient['id']}/documents",
        data=form,
        headers=bearer(patient["access_token"]),
    )
    assert response.status == 201, await response.text()
    return (await response.json())["document"]


async def test_a_dicom_study_in_the_chat_reaches_both_and_stays_in_the_record(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    other = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    study = await upload(clinic, patient, sample_dicom(frames=2), "imaging")
    foreign = await upload(clinic, other, sample_pdf(), "diagnosis")
    p, d = await in_call(clinic, patient, doctor, appointment)

    ack = await p.call(
        "chat:send",
        {"appointment_id": appointment, "client_msg_id": "img", "document_id": study["id"]},
    )
    assert ack["ok"] is True, ack
    expected = {
        "document_id": study["id"],
        "kind": "imaging",
        "title": "My imaging",
        "content_type": "application/dicom",
        "size": study["size"],
    }
    assert ack["message"]["attachment"] == expected
    assert ack["message"]["text"] == ""
    assert (await d.wait_for("chat:message"))["attachment"] == expected

    plain = await d.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "t", "text": "thanks"}
    )
    assert plain["message"]["attachment"] is None

    for bad in (foreign["id"], "0" * 24):
        refused = await d.call(
            "chat:send",
            {"appointment_id": appointment, "client_msg_id": f"x{bad[:3]}", "document_id": bad},
        )
        assert refused["ok"] is False
        assert refused["error"]["code"] == "not_found"
    empty = await p.call(
        "chat:send", {"appointment_id": appointment, "client_msg_id": "e", "text": " "}
    )
    assert empty["ok"] is False

    transcript = await clinic.client.get(
        f"/api/v1/appointments/{appointment}/messages", headers=bearer(doctor["access_token"])
    )
    messages = (await transcript.json())["messages"]
    assert [m["attachment"] for m in messages] == [expected, None]

    export = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/fhir", headers=bearer(patient["access_token"])
    )
    bundle = await export.json()
    assert_valid_fhir(bundle)  # DocumentReference, ImagingStudy, Communication attachments
    by_type: dict[str, list[Any]] = {}
    for entry in bundle["entry"]:
        by_type.setdefault(entry["resource"]["resourceType"], []).append(entry["resource"])
    attachments = [
        part["contentAttachment"]
        for c in by_type["Communication"]
        for part in c["payload"]
        if "contentAttachment" in part
    ]
    assert [a["url"] for a in attachments] == [f"/api/v1/documents/{study['id']}/content"]
    assert study["id"] in {d["id"] for d in by_type["DocumentReference"]}
    assert [s["id"] for s in by_type["ImagingStudy"]] == [study["id"]]
