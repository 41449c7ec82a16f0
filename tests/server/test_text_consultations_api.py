"""Text-and-image consultations through the real REST API and database: booking one on the
doctor's text queue, the queue (oldest first, overdue marked), the admin's counts, ending one
with its summary, turning one into a video call, and who may do what. With the follow-up rule
off: under the rule (tests/signaling/test_text_follow_up_gate.py) the same holds once the
doctor confirmed the follow-up."""

from __future__ import annotations

from typing import Any

import pytest

from server.settings import ClinicSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, SLOT_0900, Clinic, ok, problem
from tests.signaling.test_text_follow_up_gate import rule_off


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    """The shared clinic, with the follow-up rule off: these tests are about the text
    consultation itself (tests/signaling/test_text_follow_up_gate.py holds it under the rule)."""
    clock = FakeClock(MONDAY)
    client = await make_client(long_sessions(rule_off(settings)), clock=clock)
    return await Clinic.open(client, clock)


async def ask(
    clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any], reason: str = "a rash"
) -> Any:
    return await clinic.client.post(
        "/api/v1/appointments",
        json={"doctor_id": doctor["id"], "kind": "text", "reason": reason},
        headers=clinic.h(patient),
    )


async def asked(clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any]) -> Any:
    return (await ok(await ask(clinic, patient, doctor), 201))["appointment"]


async def answer(clinic: Clinic, appointment_id: str) -> None:
    """The doctor's first answer moves it in progress (the hub does it on ``chat:send``; the
    hub tests drive that path, these use the repository)."""
    from domain.appointments import AppointmentStatus

    repos = await clinic.repos()
    moved = await repos.appointments.move_text(
        appointment_id,
        AppointmentStatus.IN_PROGRESS,
        sources={AppointmentStatus.BOOKED},
        now=clinic.clock.now,
    )
    assert moved is not None


async def test_a_text_consultation_is_asked_now_and_answered_by_the_deadline(
    clinic: Clinic,
) -> None:
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    assert a["kind"] == "text"
    assert a["status"] == "booked"
    assert a["start"].startswith("2026-03-02T00:00:00")  # when it was asked
    assert a["respond_by"].startswith("2026-03-03T00:00:00")  # 24 hours, the default
    assert a["overdue"] is False
    assert a["reason"] == "a rash"
    # It holds no slot: the 09:00 video slot is still free and bookable.
    slots = await ok(
        await clinic.client.get(
            f"/api/v1/doctors/{clinic.doctor['id']}/slots?limit=1",
            headers=clinic.h(clinic.patient_b),
        )
    )
    assert slots["slots"][0]["start"].startswith("2026-03-02T01:00:00")
    await clinic.booked(clinic.patient_b, clinic.doctor, SLOT_0900)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "text", "reason": "a rash", "start": "2026-03-02T01:00:00Z"}, "start"),
        ({"kind": "text", "reason": "  "}, "reason"),
        ({"kind": "video", "reason": "a rash"}, "start"),
    ],
)
async def test_a_text_booking_takes_no_start_and_a_slot_booking_needs_one(
    clinic: Clinic, payload: dict[str, Any], field: str
) -> None:
    response = await clinic.client.post(
        "/api/v1/appointments",
        json={"doctor_id": clinic.doctor["id"], **payload},
        headers=clinic.h(clinic.patient_a),
    )
    body = await problem(response, 422, "invalid_input")
    assert body["errors"][0]["field"] == field
    repos = await clinic.repos()
    assert await repos.appointments.list_for_patient(clinic.patient_a["id"]) == []


async def test_a_clinic_without_text_consultations_refuses_them_and_says_so(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    # The follow-up rule on (the default): the clinic's refusal comes before the rule's needs.
    off = settings.with_(clinic=ClinicSettings(text_consultations=False, text_response_hours=6))
    client = await make_client(long_sessions(off), clock=clock)
    clinic = await Clinic.open(client, clock)
    public = await ok(await client.get("/api/v1/clinic"))
    assert public["text_consultations"] is False
    assert public["text_response_hours"] == 6
    await problem(await ask(clinic, clinic.patient_a, clinic.doctor), 409, "text_consultations_off")


async def test_the_response_hours_setting_sets_the_deadline(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    six = settings.with_(clinic=ClinicSettings(text_response_hours=6))
    clinic = await Clinic.open(await make_client(long_sessions(rule_off(six)), clock=clock), clock)
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    assert a["respond_by"].startswith("2026-03-02T06:00:00")


async def test_the_queue_is_oldest_first_with_the_overdue_marked_and_the_admin_counts(
    make_client: AppFactory, settings: Settings
) -> None:
    clock = FakeClock(MONDAY)
    two = settings.with_(clinic=ClinicSettings(text_response_hours=2))
    clinic = await Clinic.open(await make_client(long_sessions(rule_off(two)), clock=clock), clock)
    c = clinic.client
    first = await asked(clinic, clinic.patient_a, clinic.doctor)
    clinic.clock.advance(minutes=100)
    second = await asked(clinic, clinic.patient_b, clinic.doctor)
    await asked(clinic, clinic.patient_b, clinic.other_doctor)  # another doctor's
    clinic.clock.advance(minutes=20)  # the first is exactly 2 hours old: overdue
    queue = await ok(
        await c.get(
            f"/api/v1/doctors/{clinic.doctor['id']}/text_queue", headers=clinic.h(clinic.doctor)
        )
    )
    assert [(q["id"], q["overdue"]) for q in queue["consultations"]] == [
        (first["id"], True),
        (second["id"], False),
    ]
    assert (queue["waiting"], queue["overdue"], queue["in_progress"]) == (2, 1, 0)
    patient_view = await ok(
        await c.get(f"/api/v1/appointments/{first['id']}", headers=clinic.h(clinic.patient_a))
    )
    assert patient_view["appointment"]["overdue"] is True
    counts = await ok(
        await c.get("/api/v1/admin/text_consultations", headers=clinic.h(clinic.admin))
    )
    assert counts == {"waiting": 3, "overdue": 1, "in_progress": 0}
    await answer(clinic, first["id"])
    counts = await ok(
        await c.get("/api/v1/admin/text_consultations", headers=clinic.h(clinic.admin))
    )
    assert counts == {"waiting": 2, "overdue": 0, "in_progress": 1}


async def test_only_the_doctor_and_admins_read_a_text_queue(clinic: Clinic) -> None:
    await asked(clinic, clinic.patient_a, clinic.doctor)
    path = f"/api/v1/doctors/{clinic.doctor['id']}/text_queue"
    await problem(
        await clinic.client.get(path, headers=clinic.h(clinic.other_doctor)), 404, "not_found"
    )
    await problem(
        await clinic.client.get(path, headers=clinic.h(clinic.patient_a)), 403, "forbidden"
    )
    admin = await ok(await clinic.client.get(path, headers=clinic.h(clinic.admin)))
    assert admin["consultations"][0]["reason"] is None  # clinical: participants only
    await problem(
        await clinic.client.get(
            "/api/v1/admin/text_consultations", headers=clinic.h(clinic.doctor)
        ),
        403,
        "forbidden",
    )


async def test_its_doctor_ends_it_once_answered_with_the_visit_summary(clinic: Clinic) -> None:
    c = clinic.client
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    end = f"/api/v1/appointments/{a['id']}/text/end"
    await problem(await c.post(end, headers=clinic.h(clinic.doctor)), 409, "not_answered")
    summary = {"diagnosis": "Contact dermatitis", "advice": "Hydrocortisone twice a day"}
    await problem(
        await c.put(
            f"/api/v1/appointments/{a['id']}/summary", json=summary, headers=clinic.h(clinic.doctor)
        ),
        409,
        "summary_not_writable",
    )
    await answer(clinic, a["id"])
    await ok(
        await c.put(
            f"/api/v1/appointments/{a['id']}/summary", json=summary, headers=clinic.h(clinic.doctor)
        )
    )
    await problem(await c.post(end, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    await problem(await c.post(end, headers=clinic.h(clinic.patient_a)), 403, "forbidden")
    ended = await ok(await c.post(end, headers=clinic.h(clinic.doctor)))
    assert ended["appointment"]["status"] == "completed"
    assert ended["appointment"]["ended_at"] is not None
    await problem(
        await c.post(end, headers=clinic.h(clinic.doctor)), 409, "text_consultation_closed"
    )
    read = await ok(
        await c.get(f"/api/v1/appointments/{a['id']}/summary", headers=clinic.h(clinic.patient_a))
    )
    assert read["summary"]["diagnosis"] == "Contact dermatitis"
    audit = await ok(
        await c.get(
            f"/api/v1/admin/audit?patient={clinic.patient_a['id']}", headers=clinic.h(clinic.admin)
        )
    )
    ends = [e for e in audit["entries"] if e["action"] == "text.end"]
    assert [e["outcome"] for e in ends] == ["success"]


async def test_its_doctor_turns_it_into_a_video_call_starting_now(clinic: Clinic) -> None:
    c = clinic.client
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    clinic.clock.advance(hours=2)
    video = f"/api/v1/appointments/{a['id']}/text/video"
    await problem(await c.post(video, headers=clinic.h(clinic.other_doctor)), 404, "not_found")
    await problem(await c.post(video, headers=clinic.h(clinic.patient_a)), 403, "forbidden")
    moved = (await ok(await c.post(video, headers=clinic.h(clinic.doctor))))["appointment"]
    assert moved["kind"] == "video"
    assert moved["status"] == "booked"
    assert moved["start"].startswith("2026-03-02T02:00:00")
    assert moved["end"].startswith("2026-03-02T02:30:00")  # the doctor's 30-minute slot
    assert moved["converted_at"].startswith("2026-03-02T02:00:00")
    # The call holds no slot (it happens now): the doctor's slot it overlaps stays bookable.
    taken = await c.post(
        "/api/v1/appointments",
        json={"doctor_id": clinic.doctor["id"], "start": "2026-03-02T02:00:00Z", "kind": "video"},
        headers=clinic.h(clinic.patient_b),
    )
    assert (await ok(taken, 201))["appointment"]["start"].startswith("2026-03-02T02:00:00")
    # Once a video consultation, it is neither on the text queue nor converted again.
    await problem(await c.post(video, headers=clinic.h(clinic.doctor)), 404, "not_found")
    queue = await ok(
        await c.get(
            f"/api/v1/doctors/{clinic.doctor['id']}/text_queue", headers=clinic.h(clinic.doctor)
        )
    )
    assert queue["consultations"] == []


async def test_a_text_consultation_cannot_be_missed_and_may_be_withdrawn_unanswered(
    clinic: Clinic,
) -> None:
    c = clinic.client
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    clinic.clock.advance(hours=1)
    await problem(
        await c.post(f"/api/v1/appointments/{a['id']}/no_show", headers=clinic.h(clinic.doctor)),
        409,
        "conflict",
    )
    calendar = await c.get(
        f"/api/v1/appointments/{a['id']}/calendar.ics?lang=en", headers=clinic.h(clinic.patient_a)
    )
    assert calendar.status == 200
    assert "SUMMARY:Text consultation" in await calendar.text()
    cancelled = await ok(
        await c.post(f"/api/v1/appointments/{a['id']}/cancel", headers=clinic.h(clinic.patient_a))
    )
    assert cancelled["appointment"]["status"] == "cancelled"


async def test_the_fhir_export_names_a_text_consultation(clinic: Clinic) -> None:
    a = await asked(clinic, clinic.patient_a, clinic.doctor)
    await answer(clinic, a["id"])
    bundle = await ok(
        await clinic.client.get(
            f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.patient_a)
        )
    )
    resources = [e["resource"] for e in bundle["entry"]]
    appointment = next(r for r in resources if r["resourceType"] == "Appointment")
    assert appointment["serviceType"] == [{"text": "Text consultation"}]
    encounter = next(r for r in resources if r["resourceType"] == "Encounter")
    assert encounter["class"]["code"] == "VR"
