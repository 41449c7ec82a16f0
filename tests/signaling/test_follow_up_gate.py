"""The follow-up gate (TELEMED_FOLLOW_UP_ONLY, on by default) through the real REST API and real
sockets: a video follow-up is booked with its prior diagnosis, the patient accepts the consent
before joining, the doctor confirms eligibility before admitting; a first visit online is
refused, a declined follow-up is cancelled; a booking naming no visit type is kept as before."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from domain.users import Role
from server.documents.samples import sample_pdf
from server.settings import DocumentSettings, Settings
from tests.conftest import bearer, long_sessions
from tests.server.test_fhir_export import assert_valid_fhir
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_chat_attachments import upload
from tests.support.hub import Clinic, HubClient, joined


@pytest.fixture
async def clinic(make_clinic: ClinicFactory, settings: Settings) -> Clinic:
    return await make_clinic(long_sessions(settings))  # the tests move the clock by an hour


def iso(value: Any) -> str:
    return value.isoformat().replace("+00:00", "Z")


async def setup(clinic: Clinic) -> tuple[dict[str, Any], dict[str, Any], Any]:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    week = [{"weekday": d, "start": "00:00", "end": "23:30"} for d in range(7)]
    response = await clinic.client.put(
        f"/api/v1/doctors/{doctor['id']}/availability",
        json={"timezone": "UTC", "slot_minutes": 30, "weekly": week},
        headers=bearer(doctor["access_token"]),
    )
    assert response.status == 200, await response.text()
    now = clinic.clock.now
    first_slot = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return patient, doctor, first_slot


async def book(clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any], **body: Any) -> Any:
    return await clinic.client.post(
        "/api/v1/appointments",
        json={"doctor_id": doctor["id"], "reason": "blood pressure"} | body,
        headers=bearer(patient["access_token"]),
    )


async def test_a_follow_up_needs_consent_and_the_doctors_confirmation(clinic: Clinic) -> None:
    patient, doctor, slot = await setup(clinic)
    stranger = await clinic.user(Role.PATIENT)
    diagnosis = await upload(clinic, patient, sample_pdf("Hypertension"), "diagnosis")
    foreign = await upload(clinic, stranger, sample_pdf("other"), "diagnosis")
    prior = {
        "condition": "Hypertension",
        "diagnosed_on": "2025-10-01",
        "institution": "Ruijin Hospital",
        "document_ids": [diagnosis["id"]],
    }
    video = {"start": iso(slot), "kind": "video"}

    first = await book(clinic, patient, doctor, visit_type="first", **video)
    assert (await first.json())["code"] == "online_first_visit_not_allowed"
    for bad in ({**prior, "document_ids": []}, {**prior, "document_ids": [foreign["id"]]}):
        refused = await book(clinic, patient, doctor, prior_diagnosis=bad, **video)
        assert refused.status == 422, await refused.text()
    in_person = await book(
        clinic,
        patient,
        doctor,
        visit_type="first",
        start=iso(slot + timedelta(hours=1)),
        kind="in_person",
    )
    assert in_person.status == 201

    booked = await book(
        clinic, patient, doctor, visit_type="follow_up", prior_diagnosis=prior, **video
    )
    assert booked.status == 201, await booked.text()
    appointment = (await booked.json())["appointment"]
    assert appointment["visit_type"] == "follow_up"
    assert appointment["prior_diagnosis"] == prior
    assert appointment["eligibility"] == {
        "status": "pending",
        "by": None,
        "at": None,
        "reason": None,
    }
    aid = appointment["id"]
    clinic.clock.advance(minutes=60)

    p = await clinic.connect(patient)
    refused = await p.call("consult:join", {"appointment_id": aid})
    assert refused["error"]["code"] == "consent_required"
    consent = await (await clinic.client.get("/api/v1/consents/online-care")).json()
    assert set(consent["text"]) == {"en", "zh-CN"}
    wrong = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": "1999"},
        headers=bearer(patient["access_token"]),
    )
    assert wrong.status == 422
    doctor_consent = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": consent["version"]},
        headers=bearer(doctor["access_token"]),
    )
    assert doctor_consent.status == 403
    accepted = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": consent["version"]},
        headers=bearer(patient["access_token"]),
    )
    assert accepted.status == 201
    assert (await p.call("consult:join", {"appointment_id": aid}))["ok"] is True

    d = await joined(clinic, doctor, aid)
    unconfirmed = await d.call("consult:admit", {"appointment_id": aid})
    assert unconfirmed["error"]["code"] == "eligibility_unconfirmed"
    url = f"/api/v1/appointments/{aid}/eligibility"
    by_patient = await clinic.client.post(
        url, json={"eligible": True}, headers=bearer(patient["access_token"])
    )
    assert by_patient.status == 403
    by_stranger = await clinic.client.post(
        url, json={"eligible": True}, headers=bearer(stranger["access_token"])
    )
    assert by_stranger.status == 404
    confirmed = await clinic.client.post(
        url, json={"eligible": True}, headers=bearer(doctor["access_token"])
    )
    assert confirmed.status == 200, await confirmed.text()
    eligibility = (await confirmed.json())["appointment"]["eligibility"]
    assert eligibility["status"] == "confirmed"
    assert eligibility["by"] == doctor["id"]
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    await p.wait_for("consult:admitted")


async def test_a_declined_follow_up_is_cancelled_with_its_reason(clinic: Clinic) -> None:
    patient, doctor, slot = await setup(clinic)
    diagnosis = await upload(clinic, patient, sample_pdf("Asthma"), "diagnosis")
    prior = {
        "condition": "Asthma",
        "diagnosed_on": "2024-05-01",
        "institution": "Huashan Hospital",
        "document_ids": [diagnosis["id"]],
    }
    booked = await book(
        clinic,
        patient,
        doctor,
        start=iso(slot),
        kind="video",
        visit_type="follow_up",
        prior_diagnosis=prior,
    )
    aid = (await booked.json())["appointment"]["id"]
    url = f"/api/v1/appointments/{aid}/eligibility"
    h = bearer(doctor["access_token"])
    no_reason = await clinic.client.post(url, json={"eligible": False}, headers=h)
    assert no_reason.status == 422
    declined = await clinic.client.post(
        url, json={"eligible": False, "reason": "new chest pain"}, headers=h
    )
    assert declined.status == 200, await declined.text()
    appointment = (await declined.json())["appointment"]
    assert appointment["status"] == "cancelled"
    assert "in-person" in appointment["cancel_reason"]
    assert "new chest pain" in appointment["cancel_reason"]
    assert appointment["eligibility"]["status"] == "declined"
    again = await clinic.client.post(url, json={"eligible": True}, headers=h)
    assert again.status == 409


async def test_a_booking_naming_no_visit_type_is_kept_as_before(clinic: Clinic) -> None:
    # The first protocol's clients (and its contract checks) book and join as they always did.
    patient, doctor, slot = await setup(clinic)
    booked = await book(clinic, patient, doctor, start=iso(slot), kind="video")
    assert booked.status == 201
    appointment = (await booked.json())["appointment"]
    assert appointment["visit_type"] is None
    assert appointment["eligibility"] is None
    clinic.clock.advance(minutes=60)
    p = await joined(clinic, patient, appointment["id"])
    d = await joined(clinic, doctor, appointment["id"])
    assert (await d.call("consult:admit", {"appointment_id": appointment["id"]}))["ok"] is True
    await p.wait_for("consult:admitted")


async def test_a_referral_ends_the_call_for_both_and_books_the_offline_visit(
    clinic: Clinic,
) -> None:
    patient, doctor, slot = await setup(clinic)
    stranger = await clinic.user(Role.DOCTOR)
    booked = await book(clinic, patient, doctor, start=iso(slot), kind="video")
    aid = (await booked.json())["appointment"]["id"]
    clinic.clock.advance(minutes=60)
    p = await joined(clinic, patient, aid)
    d = await joined(clinic, doctor, aid)
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    url = f"/api/v1/appointments/{aid}/referral"
    body = {
        "reason": "needs a physical examination",
        "department": "Cardiology 心内科",
        "urgency": "urgent",
        "book": {"doctor_id": doctor["id"], "start": iso(slot + timedelta(days=1))},
    }
    for outsider, status in ((patient, 403), (stranger, 404)):
        refused = await clinic.client.post(url, json=body, headers=bearer(outsider["access_token"]))
        assert refused.status == status
    created = await clinic.client.post(url, json=body, headers=bearer(doctor["access_token"]))
    assert created.status == 201, await created.text()
    answer = await created.json()
    referral = answer["referral"]
    assert referral["urgency"] == "urgent"
    assert answer["appointment"]["kind"] == "in_person"
    assert referral["booked_appointment_id"] == answer["appointment"]["id"]
    for side in (p, d):
        ended = await side.wait_for("consult:ended")
        assert ended == {"appointment_id": aid, "reason": "referred_offline"}

    listing = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/referrals", headers=bearer(patient["access_token"])
    )
    assert [r["id"] for r in (await listing.json())["referrals"]] == [referral["id"]]
    hidden = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/referrals", headers=bearer(stranger["access_token"])
    )
    assert hidden.status == 404
    export = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/fhir", headers=bearer(patient["access_token"])
    )
    bundle = await export.json()
    assert_valid_fhir(bundle)
    requests = [
        e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ServiceRequest"
    ]
    assert [(r["id"], r["priority"]) for r in requests] == [(referral["id"], "urgent")]
    record = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/record", headers=bearer(patient["access_token"])
    )
    assert record.status == 200
    assert (await record.json())["referrals"] == [referral]
    doctors_view = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/record", headers=bearer(doctor["access_token"])
    )
    assert [r["department"] for r in (await doctors_view.json())["referrals"]] == [
        "Cardiology 心内科"
    ]


async def waiting_follow_up(clinic: Clinic) -> tuple[dict[str, Any], str, HubClient]:
    """A booked, consented follow-up whose patient waits in its room: (doctor, id, patient's
    socket)."""
    patient, doctor, slot = await setup(clinic)
    diagnosis = await upload(clinic, patient, sample_pdf("Asthma"), "diagnosis")
    prior = {
        "condition": "Asthma",
        "diagnosed_on": "2024-05-01",
        "institution": "Huashan Hospital",
        "document_ids": [diagnosis["id"]],
    }
    booked = await book(
        clinic,
        patient,
        doctor,
        start=iso(slot),
        kind="video",
        visit_type="follow_up",
        prior_diagnosis=prior,
    )
    aid = (await booked.json())["appointment"]["id"]
    consent = await (await clinic.client.get("/api/v1/consents/online-care")).json()
    assert consent["follow_up_only"] is True
    accepted = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": consent["version"]},
        headers=bearer(patient["access_token"]),
    )
    assert accepted.status == 201
    clinic.clock.advance(minutes=60)
    return doctor, aid, await joined(clinic, patient, aid)


async def decline(clinic: Clinic, doctor: dict[str, Any], aid: str) -> dict[str, Any]:
    declined = await clinic.client.post(
        f"/api/v1/appointments/{aid}/eligibility",
        json={"eligible": False, "reason": "a new symptom"},
        headers=bearer(doctor["access_token"]),
    )
    assert declined.status == 200, await declined.text()
    body: dict[str, Any] = await declined.json()
    return body


async def test_a_waiting_patient_hears_the_decline_at_once(clinic: Clinic) -> None:
    # Not at the next housekeeping sweep: the room closes as the doctor declines.
    doctor, aid, p = await waiting_follow_up(clinic)
    declined = await decline(clinic, doctor, aid)
    closed = await p.wait_for("consult:closed", within=2)
    assert closed == {"appointment_id": aid, "reason": "not_eligible"}
    assert declined["appointment"]["status"] == "cancelled"


async def test_the_decline_wins_over_a_sweep_that_sees_the_cancellation(
    clinic: Clinic, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hub's housekeeping ends the rooms of cancelled appointments ("cancelled"). Run at
    the worst moment, just after the decline cancels the appointment, it still finds the
    waiting room already ended with the decline's own reason: the patient hears
    ``not_eligible`` exactly once."""
    from server import keys
    from server.appointments.service import AppointmentService

    doctor, aid, p = await waiting_follow_up(clinic)
    hub = clinic.client.app[keys.HUB]
    cancel = AppointmentService.cancel
    swept: list[bool] = []

    async def cancel_then_sweep(self: AppointmentService, *args: Any, **kw: Any) -> Any:
        result = await cancel(self, *args, **kw)
        await hub.housekeeping()
        swept.append(True)
        return result

    monkeypatch.setattr(AppointmentService, "cancel", cancel_then_sweep)
    await decline(clinic, doctor, aid)
    assert swept == [True]
    closed = await p.wait_for("consult:closed", within=2)
    assert closed == {"appointment_id": aid, "reason": "not_eligible"}
    await asyncio.sleep(0.3)
    assert len(p.received("consult:closed")) == 1


async def test_where_the_rule_does_not_hold_the_booking_page_is_told_so(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    # TELEMED_FOLLOW_UP_ONLY=false: the consent text is still served, and says the rule is off
    # (the booking page then does not explain it); a video first visit is booked.
    clinic = await make_clinic(
        long_sessions(settings).with_(documents=DocumentSettings(follow_up_only=False))
    )
    consent = await (await clinic.client.get("/api/v1/consents/online-care")).json()
    assert consent["follow_up_only"] is False
    patient, doctor, slot = await setup(clinic)
    booked = await book(clinic, patient, doctor, start=iso(slot), kind="video", visit_type="first")
    assert booked.status == 201, await booked.text()
    assert (await booked.json())["appointment"]["eligibility"] is None
