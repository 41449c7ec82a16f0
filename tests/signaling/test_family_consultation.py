"""Family members in the consultation hub, with real sockets against the real database and
Redis: the holder books a video follow-up for their child (the gate and the consent apply to
the child, accepted by the holder), takes the child's seat and is shown to the doctor as
holding it for them; under six, only the managing account may hold the seat (the rule,
TELEMED_UNDER_SIX_GUARDIAN, on by default): the doctor's admit otherwise answers 409
``guardian_required``; with the rule off, the same admit goes through."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.documents.samples import sample_pdf
from server.settings import Settings
from tests.conftest import bearer, long_sessions
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_chat_attachments import upload
from tests.signaling.test_follow_up_gate import book, iso, setup
from tests.support.hub import Clinic, joined


@pytest.fixture
async def clinic(make_clinic: ClinicFactory, settings: Settings) -> Clinic:
    return await make_clinic(long_sessions(settings))


async def add_child(clinic: Clinic, holder: dict[str, Any], born: date) -> dict[str, Any]:
    response = await clinic.client.post(
        "/api/v1/me/family-members",
        json={"name": "王小明", "birth_date": born.isoformat(), "sex": "male", "relation": "child"},
        headers=bearer(holder["access_token"]),
    )
    assert response.status == 201, await response.text()
    member: dict[str, Any] = (await response.json())["family_member"]
    return member


def five_years_old(clinic: Clinic) -> date:
    return clinic.clock.now.date() - timedelta(days=5 * 365)


async def test_the_holder_books_joins_and_is_shown_holding_the_childs_seat(
    clinic: Clinic,
) -> None:
    holder, doctor, slot = await setup(clinic)
    child = await add_child(clinic, holder, five_years_old(clinic))
    assert child["under_six"] is True
    assert child["minor"] is True
    diagnosis = await upload(clinic, holder, sample_pdf("Asthma"), "diagnosis")
    prior = {
        "condition": "Asthma",
        "diagnosed_on": "2025-10-01",
        "institution": "Children's Hospital",
        "document_ids": [diagnosis["id"]],
    }
    video = {"start": iso(slot), "kind": "video", "visit_type": "follow_up"}
    # The prior diagnosis must be the child's documents, not the holder's.
    refused = await book(
        clinic, holder, doctor, patient_id=child["id"], prior_diagnosis=prior, **video
    )
    assert refused.status == 422, await refused.text()
    as_holder = {"id": child["id"], "access_token": holder["access_token"]}
    prior["document_ids"] = [
        (await upload(clinic, as_holder, sample_pdf("Asthma"), "diagnosis"))["id"]
    ]
    booked = await book(
        clinic, holder, doctor, patient_id=child["id"], prior_diagnosis=prior, **video
    )
    assert booked.status == 201, await booked.text()
    appointment = (await booked.json())["appointment"]
    assert appointment["patient"]["id"] == child["id"]
    assert appointment["patient"]["managed_by"] == {
        "id": holder["id"],
        "name": holder["user"]["name"],
    }
    assert appointment["patient"]["relation"] == "child"
    aid = appointment["id"]
    clinic.clock.advance(minutes=60)

    h = await clinic.connect(holder)
    needs_consent = await h.call("consult:join", {"appointment_id": aid})
    assert needs_consent["error"]["code"] == "consent_required"
    own_consent = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": "2026-12"},
        headers=bearer(holder["access_token"]),
    )
    assert own_consent.status == 201  # the holder's own consent is not the child's
    needs_consent = await h.call("consult:join", {"appointment_id": aid})
    assert needs_consent["error"]["code"] == "consent_required"
    for_child = await clinic.client.post(
        "/api/v1/me/consents",
        json={"kind": "online_care", "version": "2026-12", "patient_id": child["id"]},
        headers=bearer(holder["access_token"]),
    )
    assert for_child.status == 201, await for_child.text()
    ack = await h.call("consult:join", {"appointment_id": aid})
    assert ack["ok"] is True, ack
    assert ack["role"] == "patient"
    assert ack["state"] == "waiting"

    confirmed = await clinic.client.post(
        f"/api/v1/appointments/{aid}/eligibility",
        json={"eligible": True},
        headers=bearer(doctor["access_token"]),
    )
    assert confirmed.status == 200
    d = await joined(clinic, doctor, aid)
    state = await d.wait_for(
        "consult:state", lambda s: any(p["role"] == "patient" for p in s["participants"])
    )
    seat = next(p for p in state["participants"] if p["role"] == "patient")
    assert seat["user_id"] == child["id"]
    assert seat["name"] == "王小明"
    assert seat["held_by"] == {
        "user_id": holder["id"],
        "name": holder["user"]["name"],
        "relation": "child",
    }
    admitted = await d.call("consult:admit", {"appointment_id": aid})
    assert admitted["ok"] is True, admitted
    await h.wait_for("consult:admitted")
    sent = await h.call(
        "chat:send", {"appointment_id": aid, "text": "他昨晚咳嗽", "client_msg_id": "c1"}
    )
    assert sent["ok"] is True, sent
    transcript = await clinic.client.get(
        f"/api/v1/appointments/{aid}/messages", headers=bearer(holder["access_token"])
    )
    assert transcript.status == 200
    assert [m["text"] for m in (await transcript.json())["messages"]] == ["他昨晚咳嗽"]


async def _under_six_patient_alone(clinic: Clinic) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """A patient with their own sign-in whose record says they are five (no account manages
    them): they join their video visit themselves, no guardian holds the seat."""
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    await (
        clinic.client.app[keys.DATABASE]
        .db["users"]
        .update_one(
            {"_id": patient["id"]}, {"$set": {"birth_date": five_years_old(clinic).isoformat()}}
        )
    )
    aid = await clinic.appointment(patient, doctor)
    return aid, patient, doctor


async def test_under_six_without_the_guardian_holding_the_seat_is_not_admitted(
    clinic: Clinic,
) -> None:
    aid, patient, doctor = await _under_six_patient_alone(clinic)
    p = await joined(clinic, patient, aid)
    d = await joined(clinic, doctor, aid)
    refused = await d.call("consult:admit", {"appointment_id": aid})
    assert refused["ok"] is False
    assert refused["error"]["code"] == "guardian_required"
    assert "guardian" in refused["error"]["message"]
    appointment = await clinic.client.get(
        f"/api/v1/appointments/{aid}", headers=bearer(doctor["access_token"])
    )
    assert (await appointment.json())["appointment"]["status"] == "waiting"  # nothing moved
    assert not p.received("consult:admitted")


async def test_a_managed_child_under_six_is_admitted_with_the_holder_in_the_seat(
    clinic: Clinic,
) -> None:
    holder = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    child = await add_child(clinic, holder, five_years_old(clinic))
    aid = await clinic.appointment({"id": child["id"]}, doctor)
    stranger = await clinic.user(Role.PATIENT)
    s = await clinic.connect(stranger)
    assert (await s.call("consult:join", {"appointment_id": aid}))["error"]["code"] == "not_found"
    h = await joined(clinic, holder, aid)
    d = await joined(clinic, doctor, aid)
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    await h.wait_for("consult:admitted")


async def test_with_the_rule_off_a_child_alone_is_admitted(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(long_sessions(settings), under_six_guardian=False)
    aid, patient, doctor = await _under_six_patient_alone(clinic)
    p = await joined(clinic, patient, aid)
    d = await joined(clinic, doctor, aid)
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    await p.wait_for("consult:admitted")


@pytest.mark.parametrize("years", [6, 30])
async def test_six_and_over_need_no_guardian(clinic: Clinic, years: int) -> None:
    aid, patient, doctor = await _under_six_patient_alone(clinic)
    today = clinic.clock.now.date()
    await (
        clinic.client.app[keys.DATABASE]
        .db["users"]
        .update_one(
            {"_id": patient["id"]},
            {"$set": {"birth_date": today.replace(year=today.year - years).isoformat()}},
        )
    )
    p = await joined(clinic, patient, aid)
    d = await joined(clinic, doctor, aid)
    assert (await d.call("consult:admit", {"appointment_id": aid}))["ok"] is True
    await p.wait_for("consult:admitted")


async def test_a_dose_due_for_the_child_reaches_the_holders_sockets_and_nobody_elses(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    from tests.clock import FakeClock
    from tests.signaling.test_reminders import START, prescribe

    clinic = await make_clinic(long_sessions(settings), clock=FakeClock(START))
    holder = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    other = await clinic.user(Role.PATIENT)
    child = await add_child(clinic, holder, date(2022, 1, 1))
    await prescribe(clinic, doctor, {"id": child["id"]}, "08:00")
    phone = await clinic.connect(holder)
    bystander = await clinic.connect(other)
    clinic.clock.advance(minutes=6)  # 08:01 in Shanghai
    due = await phone.wait_for("reminder:due")
    assert due["patient_id"] == child["id"]
    assert bystander.received("reminder:due") == []
