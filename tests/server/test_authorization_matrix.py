"""Object-level authorization: patient A, patient B, the doctor of A's appointment (D),
another doctor (E) and an admin, against every endpoint of appointments, records and audit.

Each caller gets exactly the documented status; what a caller may not see answers 404, and a
refused write changes nothing (checked by counting what the endpoint would have created or
changed). Admins manage users and see audit and room metadata, never clinical content.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from domain.appointments import AppointmentKind
from server.documents.samples import sample_dicom, sample_pdf
from server.settings import ConsultSettings, Settings
from tests.clock import FakeClock
from tests.conftest import STRONG_PASSWORD, AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, iso
from tests.server.rights import Case, Ctx, count_of, field_of, try_every_caller

CALLERS = ("patient_a", "patient_b", "doctor", "other_doctor", "admin")


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(CALLERS, status)


def matrix(a: int, b: int, d: int, e: int, admin: int) -> dict[str, int]:
    return dict(zip(CALLERS, (a, b, d, e, admin), strict=True))


# Patient A's clinical data: A and A's doctor only.
READ_RECORD = matrix(200, 404, 200, 404, 404)


async def _fresh_booking(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """A new appointment of A with D, for callers that change one."""
    appointment = await clinic.booked(
        clinic.patient_a, clinic.doctor, MONDAY + timedelta(days=1, hours=1, minutes=30 * n)
    )
    return {"target": appointment["id"]}


async def _past_booking(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """An appointment of A with D that started ten minutes ago (inserted directly: the API
    refuses booking in the past)."""
    repos = await clinic.repos()
    start = clinic.clock.now - timedelta(minutes=10 + 30 * n)
    appointment = await repos.appointments.insert(
        patient_id=clinic.patient_a["id"],
        doctor_id=clinic.doctor["id"],
        start=start,
        end=start + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="",
        now=clinic.clock.now,
    )
    return {"target": appointment.id}


async def _fresh_prescription(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    response = await clinic.client.post(
        f"/api/v1/patients/{clinic.patient_a['id']}/prescriptions",
        json=_rx(ctx),
        headers=clinic.h(clinic.doctor),
    )
    assert response.status == 201, await response.text()
    return {"target": (await response.json())["prescription"]["id"]}


def _rx(ctx: Ctx) -> dict[str, Any]:
    return {
        "appointment_id": ctx["visit"],
        "drug": "Metformin",
        "dose": "500 mg",
        "times": ["09:00"],
        "timezone": "Asia/Shanghai",
        "start_date": "2026-03-02",
        "days": 2,
    }


def _appointment_list(caller: str, body: Any, ctx: Ctx) -> None:
    ids = {a["id"] for a in body["appointments"]}
    expected = {ctx["visit"]} if caller in ("patient_a", "doctor", "admin") else set()
    assert ids == expected, caller


def _audit_list(caller: str, body: Any, ctx: Ctx) -> None:
    assert body["entries"], "the admin sees the entries written so far"


async def _fresh_text(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """A new text consultation of A with D, unanswered."""
    response = await clinic.client.post(
        "/api/v1/appointments",
        json={
            "doctor_id": ctx["d"],
            "kind": "text",
            "reason": "a rash",
            # A follow-up, as the rule (on by default) holds every text consultation.
            "prior_diagnosis": {
                "condition": "Eczema",
                "diagnosed_on": "2025-01-02",
                "institution": "Huashan Hospital",
                "document_ids": [ctx["document"]],
            },
        },
        headers=clinic.h(clinic.patient_a),
    )
    assert response.status == 201, await response.text()
    return {"target": (await response.json())["appointment"]["id"]}


async def _answered_text(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """A text consultation of A with D that D has answered (in progress)."""
    from domain.appointments import AppointmentStatus

    fresh = await _fresh_text(clinic, ctx, n)
    repos = await clinic.repos()
    moved = await repos.appointments.move_text(
        fresh["target"],
        AppointmentStatus.IN_PROGRESS,
        sources={AppointmentStatus.BOOKED},
        now=clinic.clock.now,
    )
    assert moved is not None
    return fresh


async def _kind_and_status(clinic: Clinic, ctx: Ctx) -> Any:
    from server import keys

    doc = await clinic.client.app[keys.DATABASE].db["appointments"].find_one({"_id": ctx["target"]})
    return (doc["kind"], doc["status"]) if doc else None


A = "/api/v1/patients/{a}"

CASES: dict[str, Case] = {
    "list doctors": Case("GET", lambda c: "/api/v1/doctors", everyone(200)),
    "get availability": Case(
        "GET", lambda c: f"/api/v1/doctors/{c['d']}/availability", everyone(200)
    ),
    "put availability": Case(
        "PUT",
        lambda c: f"/api/v1/doctors/{c['d']}/availability",
        matrix(403, 403, 200, 403, 200),
        body=lambda c: {"timezone": "Asia/Shanghai", "slot_minutes": 30, "weekly": []},
    ),
    "list slots": Case("GET", lambda c: f"/api/v1/doctors/{c['d']}/slots", everyone(200)),
    "book": Case(
        "POST",
        lambda c: "/api/v1/appointments",
        matrix(201, 201, 403, 403, 403),
        body=lambda c: {
            "doctor_id": c["d"],
            "start": iso(MONDAY + timedelta(days=2, hours=1, minutes=30 * c["n"])),
            "kind": "video",
        },
        probe=count_of("appointments"),
    ),
    "list appointments": Case(
        "GET", lambda c: "/api/v1/appointments", everyone(200), check=_appointment_list
    ),
    "get appointment": Case(
        "GET", lambda c: f"/api/v1/appointments/{c['visit']}", matrix(200, 404, 200, 404, 200)
    ),
    "cancel appointment": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/cancel",
        matrix(200, 404, 200, 404, 200),
        prepare=_fresh_booking,
        probe=field_of("appointments", "status"),
    ),
    "no-show": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/no_show",
        matrix(403, 404, 200, 404, 200),
        prepare=_past_booking,
        probe=field_of("appointments", "status"),
    ),
    "text queue": Case(
        "GET", lambda c: f"/api/v1/doctors/{c['d']}/text_queue", matrix(403, 403, 200, 404, 200)
    ),
    "text counts": Case(
        "GET", lambda c: "/api/v1/admin/text_consultations", matrix(403, 403, 403, 403, 200)
    ),
    "end text": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/text/end",
        matrix(403, 403, 200, 404, 403),
        prepare=_answered_text,
        probe=_kind_and_status,
    ),
    "text to video": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/text/video",
        matrix(403, 403, 200, 404, 403),
        prepare=_fresh_text,
        probe=_kind_and_status,
    ),
    "read record": Case("GET", lambda c: A.format(**c) + "/record", READ_RECORD),
    "list notes": Case("GET", lambda c: A.format(**c) + "/notes", READ_RECORD),
    "write note": Case(
        "POST",
        lambda c: A.format(**c) + "/notes",
        matrix(403, 404, 201, 404, 404),
        body=lambda c: {"appointment_id": c["visit"], "text": "assessment"},
        probe=count_of("notes"),
    ),
    "list vitals": Case("GET", lambda c: A.format(**c) + "/vitals?type=heart_rate", READ_RECORD),
    "record vital": Case(
        "POST",
        lambda c: A.format(**c) + "/vitals",
        matrix(201, 404, 201, 404, 404),
        body=lambda c: {
            "type": "heart_rate",
            "value": 70,
            "unit": "/min",
            "measured_at": iso(MONDAY),
        },
        probe=count_of("vitals"),
    ),
    "list allergies": Case("GET", lambda c: A.format(**c) + "/allergies", READ_RECORD),
    "record allergy": Case(
        "POST",
        lambda c: A.format(**c) + "/allergies",
        matrix(201, 404, 201, 404, 404),
        body=lambda c: {"substance": "latex"},
        probe=count_of("allergies"),
    ),
    "list conditions": Case("GET", lambda c: A.format(**c) + "/conditions", READ_RECORD),
    "record condition": Case(
        "POST",
        lambda c: A.format(**c) + "/conditions",
        matrix(403, 404, 201, 404, 404),
        body=lambda c: {"name": "Asthma", "code": "J45"},
        probe=count_of("conditions"),
    ),
    "list prescriptions": Case("GET", lambda c: A.format(**c) + "/prescriptions", READ_RECORD),
    "prescribe": Case(
        "POST",
        lambda c: A.format(**c) + "/prescriptions",
        matrix(403, 404, 201, 404, 404),
        body=_rx,
        probe=count_of("prescriptions"),
    ),
    "stop prescription": Case(
        "POST",
        lambda c: f"/api/v1/prescriptions/{c['target']}/stop",
        matrix(403, 404, 200, 404, 404),
        prepare=_fresh_prescription,
        probe=field_of("prescriptions", "status"),
    ),
    "list reminders": Case("GET", lambda c: A.format(**c) + "/reminders", READ_RECORD),
    "take reminder": Case(
        "POST",
        lambda c: f"/api/v1/reminders/{c['reminder']}/taken",
        matrix(200, 404, 403, 404, 404),
        probe=lambda clinic, c: _reminder_status(clinic, c),
    ),
    "fhir export": Case("GET", lambda c: A.format(**c) + "/fhir", READ_RECORD),
    "audit log": Case(
        "GET", lambda c: "/api/v1/admin/audit", matrix(403, 403, 403, 403, 200), check=_audit_list
    ),
    "create user": Case(
        "POST",
        lambda c: "/api/v1/admin/users",
        matrix(403, 403, 403, 403, 201),
        body=lambda c: {
            "email": f"new{c['n']}@example.com",
            "password": STRONG_PASSWORD,
            "name": "New",
            "role": "doctor",
            "specialty": "Dermatology",
        },
        probe=count_of("users"),
    ),
}


def _document_form(ctx: Ctx) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("kind", "lab_report")
    form.add_field("title", "Blood count")
    form.add_field("file", sample_pdf("CBC"), filename="cbc.pdf")
    return form


DOC = "/api/v1/documents/{document}"
CASES |= {
    "upload document": Case(
        "POST",
        lambda c: A.format(**c) + "/documents",
        matrix(201, 404, 201, 404, 404),
        form=_document_form,
        probe=count_of("documents.files"),
    ),
    "list documents": Case("GET", lambda c: A.format(**c) + "/documents", READ_RECORD),
    "get document": Case("GET", lambda c: DOC.format(**c), READ_RECORD),
    "document content": Case("GET", lambda c: DOC.format(**c) + "/content", READ_RECORD),
    "document preview": Case("GET", lambda c: DOC.format(**c) + "/preview.png", READ_RECORD),
}


async def _gated_follow_up(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """A video follow-up of A with D waiting for D's eligibility decision."""
    from domain.follow_up import PENDING, VisitType

    target = (await _fresh_booking(clinic, ctx, n))["target"]
    repos = await clinic.repos()
    await repos.follow_ups.insert(
        target, visit_type=VisitType.FOLLOW_UP, prior=None, eligibility=PENDING
    )
    return {"target": target}


async def _eligibility(clinic: Clinic, ctx: Ctx) -> Any:
    from server import keys

    doc = await clinic.client.app[keys.DATABASE].db["follow_ups"].find_one({"_id": ctx["target"]})
    return doc["eligibility"]["status"] if doc else None


CASES |= {
    "decide eligibility": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/eligibility",
        matrix(403, 404, 200, 404, 404),
        body=lambda c: {"eligible": True},
        prepare=_gated_follow_up,
        probe=_eligibility,
    ),
    "refer offline": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/referral",
        matrix(403, 404, 201, 404, 404),
        body=lambda c: {"reason": "examination", "urgency": "routine"},
        prepare=_fresh_booking,
        probe=count_of("referrals"),
    ),
    "list referrals": Case("GET", lambda c: A.format(**c) + "/referrals", READ_RECORD),
    # The after-visit summary, its PDF and the patient's list: one answer for everyone else,
    # admins too (404, as the record's reads), through one object-level check.
    "visit summary": Case(
        "GET", lambda c: f"/api/v1/appointments/{c['visit']}/summary", READ_RECORD
    ),
    "visit summary pdf": Case(
        "GET", lambda c: f"/api/v1/appointments/{c['visit']}/summary.pdf?lang=en", READ_RECORD
    ),
    "list summaries": Case("GET", lambda c: A.format(**c) + "/summaries", READ_RECORD),
    "accept consent": Case(
        "POST",
        lambda c: "/api/v1/me/consents",
        matrix(201, 201, 403, 403, 403),
        body=lambda c: {"kind": "online_care", "version": "2026-12"},
        probe=count_of("online_care_consents"),
    ),
}


async def _reminder_status(clinic: Clinic, ctx: Ctx) -> Any:
    from server import keys

    doc = await clinic.client.app[keys.DATABASE].db["reminders"].find_one({"_id": ctx["reminder"]})
    assert doc is not None
    return doc["status"]


@pytest.fixture
async def world(make_client: AppFactory, settings: Settings) -> tuple[Clinic, Ctx]:
    clock = FakeClock(MONDAY)
    # One patient books again for each case: the booking limits have their own tests.
    limits = ConsultSettings(max_bookings_per_doctor=1000, max_bookings=1000)
    client = await make_client(long_sessions(settings).with_(consult=limits), clock=clock)
    clinic = await Clinic.open(client, clock)
    visit = await clinic.booked(clinic.patient_a, clinic.doctor, MONDAY + timedelta(hours=1))
    ctx: Ctx = {"a": clinic.patient_a["id"], "d": clinic.doctor["id"], "visit": visit["id"]}
    await _fresh_prescription(clinic, ctx, 0)
    reminders = await clinic.client.get(
        f"/api/v1/patients/{ctx['a']}/reminders", headers=clinic.h(clinic.patient_a)
    )
    ctx["reminder"] = (await reminders.json())["reminders"][0]["id"]  # due 09:00 Shanghai
    form = aiohttp.FormData()
    form.add_field("kind", "imaging")
    form.add_field("title", "CT")
    form.add_field("file", sample_dicom(), filename="ct.dcm")
    document = await clinic.client.post(
        f"/api/v1/patients/{ctx['a']}/documents", data=form, headers=clinic.h(clinic.patient_a)
    )
    ctx["document"] = (await document.json())["document"]["id"]
    return clinic, ctx


# Refusals first, so a refused write is checked against untouched state.
ORDER = ("patient_b", "other_doctor", "admin", "patient_a", "doctor")


@pytest.mark.parametrize("name", list(CASES))
async def test_each_caller_gets_exactly_its_rights(world: tuple[Clinic, Ctx], name: str) -> None:
    clinic, base = world
    await try_every_caller(
        clinic,
        base,
        name,
        CASES[name],
        callers=CALLERS,
        order=ORDER,
        who=lambda caller: getattr(clinic, caller),
        refusal_codes=True,
        may_change_nothing=name == "take reminder",
    )


async def test_admin_views_of_appointments_hold_no_clinical_content(
    world: tuple[Clinic, Ctx],
) -> None:
    clinic, _ = world
    listing = await clinic.client.get("/api/v1/appointments", headers=clinic.h(clinic.admin))
    for appointment in (await listing.json())["appointments"]:
        assert appointment["reason"] is None
        assert appointment["cancel_reason"] is None


async def test_a_patient_reads_their_own_record_and_nobody_elses(
    world: tuple[Clinic, Ctx],
) -> None:
    clinic, _ = world
    b = clinic.patient_b["id"]
    own = await clinic.client.get(
        f"/api/v1/patients/{b}/record", headers=clinic.h(clinic.patient_b)
    )
    assert own.status == 200
    for who in ("patient_a", "doctor", "other_doctor", "admin"):
        response = await clinic.client.get(
            f"/api/v1/patients/{b}/record", headers=clinic.h(getattr(clinic, who))
        )
        assert response.status == 404, who
    # A doctor's own id, or an unknown id, is no patient either.
    for pid in (clinic.doctor["id"], "0" * 24, "not-an-id"):
        response = await clinic.client.get(
            f"/api/v1/patients/{pid}/record", headers=clinic.h(clinic.doctor)
        )
        assert response.status == 404
