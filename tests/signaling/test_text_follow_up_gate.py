"""The follow-up gate (TELEMED_FOLLOW_UP_ONLY) on text-and-image consultations, through the real
REST API, the real database and real sockets: a text consultation is online care, held exactly
as a video visit is (the prior diagnosis at booking, the patient's consent before opening it,
the doctor's confirmation before anyone writes in it, a decline cancelling it with the same
reason); once turned into a video call it keeps what it established; with the rule off nothing
changes."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server.documents.samples import sample_pdf
from server.settings import Settings
from tests.conftest import bearer, long_sessions
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_chat_attachments import upload
from tests.signaling.test_follow_up_gate import book, decline
from tests.support.hub import Clinic, HubClient, error_code, joined


def rule_off(settings: Settings) -> Settings:
    """``TELEMED_FOLLOW_UP_ONLY=false``, the rest as it was."""
    return settings.with_(documents=settings.documents.model_copy(update={"follow_up_only": False}))


@pytest.fixture
async def clinic(make_clinic: ClinicFactory, settings: Settings) -> Clinic:
    return await make_clinic(long_sessions(settings))


async def prior_of(clinic: Clinic, patient: dict[str, Any]) -> dict[str, Any]:
    diagnosis = await upload(clinic, patient, sample_pdf("Eczema"), "diagnosis")
    return {
        "condition": "Eczema",
        "diagnosed_on": "2025-11-03",
        "institution": "Huashan Hospital",
        "document_ids": [diagnosis["id"]],
    }


async def text_follow_up(
    clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any]
) -> dict[str, Any]:
    booked = await book(
        clinic,
        patient,
        doctor,
        kind="text",
        visit_type="follow_up",
        prior_diagnosis=await prior_of(clinic, patient),
    )
    assert booked.status == 201, await booked.text()
    appointment: dict[str, Any] = (await booked.json())["appointment"]
    return appointment


async def consent(clinic: Clinic, patient: dict[str, Any]) -> None:
    text = await (await clinic.client.get("/api/v1/consents/online-care")).json()
    accepted = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": text["version"]},
        headers=bearer(patient["access_token"]),
    )
    assert accepted.status == 201


async def confirm(clinic: Clinic, doctor: dict[str, Any], aid: str) -> dict[str, Any]:
    confirmed = await clinic.client.post(
        f"/api/v1/appointments/{aid}/eligibility",
        json={"eligible": True},
        headers=bearer(doctor["access_token"]),
    )
    assert confirmed.status == 200, await confirmed.text()
    body: dict[str, Any] = (await confirmed.json())["appointment"]
    return body


async def say(socket: HubClient, aid: str, msg_id: str, text: str = "hello") -> Any:
    return await socket.call(
        "chat:send", {"appointment_id": aid, "client_msg_id": msg_id, "text": text}
    )


async def test_a_text_consultation_is_booked_only_as_a_follow_up_with_its_diagnosis(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    stranger = await clinic.user(Role.PATIENT)
    prior = await prior_of(clinic, patient)
    foreign = await upload(clinic, stranger, sample_pdf("other"), "diagnosis")

    first = await book(clinic, patient, doctor, kind="text", visit_type="first")
    assert first.status == 422
    assert (await first.json())["code"] == "online_first_visit_not_allowed"
    # Naming no visit type does not pass: no client of the first protocol books kind text.
    for body in (
        {},
        {"visit_type": "follow_up"},
        {"visit_type": "follow_up", "prior_diagnosis": {**prior, "document_ids": []}},
        {"prior_diagnosis": {**prior, "document_ids": [foreign["id"]]}},
    ):
        refused = await book(clinic, patient, doctor, kind="text", **body)
        assert refused.status == 422, (body, await refused.text())
    queue = await clinic.client.get(
        f"/api/v1/doctors/{doctor['id']}/text_queue", headers=bearer(doctor["access_token"])
    )
    assert (await queue.json())["consultations"] == []  # nothing refused was booked

    # Its prior diagnosis without visit_type is a follow-up, as for a video booking.
    booked = await book(clinic, patient, doctor, kind="text", prior_diagnosis=prior)
    assert booked.status == 201, await booked.text()
    appointment = (await booked.json())["appointment"]
    assert appointment["kind"] == "text"
    assert appointment["visit_type"] == "follow_up"
    assert appointment["prior_diagnosis"] == prior
    assert appointment["eligibility"]["status"] == "pending"


async def test_nobody_writes_before_the_consent_and_the_doctors_confirmation(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await text_follow_up(clinic, patient, doctor)
    aid = a["id"]

    p = await clinic.connect(patient)
    refused = await p.call("text:open", {"appointment_id": aid})
    assert error_code(refused) == "consent_required"  # as consult:join of a video follow-up
    # Not opened, so not heard either: the socket may not write.
    assert error_code(await say(p, aid, "p0")) == "forbidden"
    await consent(clinic, patient)
    assert (await p.call("text:open", {"appointment_id": aid}))["ok"] is True

    d = await clinic.connect(doctor)
    assert (await d.call("text:open", {"appointment_id": aid}))["ok"] is True  # reads it
    # Eligibility pending: neither side writes (the doctor's answer is the admission).
    assert error_code(await say(p, aid, "p1")) == "eligibility_unconfirmed"
    assert error_code(await say(d, aid, "d1")) == "eligibility_unconfirmed"
    history = await clinic.client.get(
        f"/api/v1/appointments/{aid}/messages", headers=bearer(patient["access_token"])
    )
    assert (await history.json())["messages"] == []

    confirmed = await confirm(clinic, doctor, aid)
    assert confirmed["eligibility"]["status"] == "confirmed"
    told = await p.wait_for("text:updated", lambda e: e["change"] == "confirmed")
    assert told == {
        "appointment_id": aid,
        "change": "confirmed",
        "kind": "text",
        "status": "booked",
        "overdue": False,
    }
    sent = await say(d, aid, "d2", "Send a photo of the rash")
    assert sent["ok"] is True, sent
    await p.wait_for("text:updated", lambda e: e["change"] == "answered")
    assert (await say(p, aid, "p2", "here"))["ok"] is True


async def test_a_declined_text_consultation_is_cancelled_and_told_to_both(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await text_follow_up(clinic, patient, doctor)
    aid = a["id"]
    await consent(clinic, patient)
    p = await clinic.connect(patient)
    assert (await p.call("text:open", {"appointment_id": aid}))["ok"] is True
    d = await clinic.connect(doctor)

    declined = (await decline(clinic, doctor, aid))["appointment"]
    assert declined["status"] == "cancelled"
    assert declined["eligibility"]["status"] == "declined"
    # The video decline's reason, word for word.
    assert declined["cancel_reason"] == (
        "Not eligible for an online follow-up; please book an in-person visit. a new symptom"
    )
    for side in (p, d):
        told = await side.wait_for("text:updated", lambda e: e["change"] == "not_eligible")
        assert told == {
            "appointment_id": aid,
            "change": "not_eligible",
            "kind": "text",
            "status": "cancelled",
            "overdue": False,
        }
    assert error_code(await say(p, aid, "p1")) == "text_consultation_closed"
    queue = await clinic.client.get(
        f"/api/v1/doctors/{doctor['id']}/text_queue", headers=bearer(doctor["access_token"])
    )
    assert (await queue.json())["consultations"] == []


async def test_the_video_call_it_becomes_does_not_ask_again(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await text_follow_up(clinic, patient, doctor)
    aid = a["id"]
    await consent(clinic, patient)
    await confirm(clinic, doctor, aid)
    d = await clinic.connect(doctor)
    assert (await d.call("text:open", {"appointment_id": aid}))["ok"] is True
    assert (await say(d, aid, "d1", "Let us look at it on video"))["ok"] is True

    converted = await clinic.client.post(
        f"/api/v1/appointments/{aid}/text/video", headers=bearer(doctor["access_token"])
    )
    assert converted.status == 200, await converted.text()
    video = (await converted.json())["appointment"]
    assert video["kind"] == "video"
    # The same appointment: its follow-up state carried over as it was.
    assert video["visit_type"] == "follow_up"
    assert video["eligibility"]["status"] == "confirmed"
    assert video["prior_diagnosis"] == a["prior_diagnosis"]

    # The patient joins without being asked for the consent again, and the doctor admits
    # without confirming again (both would be refused otherwise, as the test below shows).
    p = await joined(clinic, patient, aid)
    doctor_in_room = await joined(clinic, doctor, aid)
    admitted = await doctor_in_room.call("consult:admit", {"appointment_id": aid})
    assert admitted["ok"] is True, admitted
    await p.wait_for("consult:admitted")


async def test_a_call_made_from_an_unconfirmed_one_still_waits_for_the_confirmation(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await text_follow_up(clinic, patient, doctor)
    aid = a["id"]
    converted = await clinic.client.post(
        f"/api/v1/appointments/{aid}/text/video", headers=bearer(doctor["access_token"])
    )
    assert converted.status == 200, await converted.text()
    assert (await converted.json())["appointment"]["eligibility"]["status"] == "pending"
    p = await clinic.connect(patient)
    assert error_code(await p.call("consult:join", {"appointment_id": aid})) == "consent_required"
    await consent(clinic, patient)
    assert (await p.call("consult:join", {"appointment_id": aid}))["ok"] is True
    d = await joined(clinic, doctor, aid)
    refused = await d.call("consult:admit", {"appointment_id": aid})
    assert error_code(refused) == "eligibility_unconfirmed"
    await confirm(clinic, doctor, aid)
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    await p.wait_for("consult:admitted")


async def test_with_the_rule_off_a_text_consultation_is_as_before(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(long_sessions(rule_off(settings)))
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    booked = await book(clinic, patient, doctor, kind="text")
    assert booked.status == 201, await booked.text()
    a = (await booked.json())["appointment"]
    assert (a["visit_type"], a["prior_diagnosis"], a["eligibility"]) == (None, None, None)
    first = await book(clinic, patient, doctor, kind="text", visit_type="first")
    assert first.status == 201, await first.text()
    # No consent, no confirmation: both open and write at once.
    p = await clinic.connect(patient)
    d = await clinic.connect(doctor)
    for side in (p, d):
        assert (await side.call("text:open", {"appointment_id": a["id"]}))["ok"] is True
    assert (await say(p, a["id"], "p1"))["ok"] is True
    assert (await say(d, a["id"], "d1"))["ok"] is True
    await p.wait_for("text:updated", lambda e: e["change"] == "answered")
