"""Object-level authorization of family members (就诊人), over the real API.

Holder H manages child C; patient B manages someone else (X) and is a patient like any;
doctor D has an appointment with C; doctor E has none; an admin. Every endpoint that takes a
patient id (or reaches a patient through an appointment, a document, a prescription or a
reminder) is tried by each of them for C: H may do what C could, B (another patient, and a
holder of someone else) gets 404, D and E and the admin get what they get for any patient.
A refused write changes nothing.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import aiohttp
import pytest

from server.documents.samples import sample_pdf
from server.settings import ConsultSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, iso, ok
from tests.server.rights import Case, Ctx, count_of, field_of, try_every_caller

CALLERS = ("holder", "other_holder", "doctor", "other_doctor", "admin")


def matrix(h: int, b: int, d: int, e: int, admin: int) -> dict[str, int]:
    return dict(zip(CALLERS, (h, b, d, e, admin), strict=True))


READ = matrix(200, 404, 200, 404, 404)  # C's clinical data: the holder and C's doctor


async def _fresh_booking(clinic: Clinic, ctx: Ctx, n: int) -> Ctx:
    """A new appointment of C with D, booked by H."""
    response = await clinic.client.post(
        "/api/v1/appointments",
        json={
            "doctor_id": ctx["d"],
            "start": iso(MONDAY + timedelta(days=1, hours=1, minutes=30 * n)),
            "kind": "video",
            "patient_id": ctx["c"],
        },
        headers=clinic.h(ctx["holder"]),
    )
    return {"target": (await ok(response, 201))["appointment"]["id"]}


def _form(ctx: Ctx) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("kind", "lab_report")
    form.add_field("title", "Blood count")
    form.add_field("file", sample_pdf("CBC"), filename="cbc.pdf")
    return form


def _appointments(caller: str, body: Any, ctx: Ctx) -> None:
    ids = {a["id"] for a in body["appointments"]}
    assert (ctx["visit"] in ids) == (caller in ("holder", "doctor", "admin")), caller


C = "/api/v1/patients/{c}"
FM = "/api/v1/me/family-members/{c}"
CASES: dict[str, Case] = {
    "read record": Case("GET", lambda c: C.format(**c) + "/record", READ),
    "list notes": Case("GET", lambda c: C.format(**c) + "/notes", READ),
    "list vitals": Case("GET", lambda c: C.format(**c) + "/vitals", READ),
    "record vital": Case(
        "POST",
        lambda c: C.format(**c) + "/vitals",
        matrix(201, 404, 201, 404, 404),
        body=lambda c: {
            "type": "heart_rate",
            "value": 90,
            "unit": "/min",
            "measured_at": iso(MONDAY),
        },
        probe=count_of("vitals"),
    ),
    "list allergies": Case("GET", lambda c: C.format(**c) + "/allergies", READ),
    "record allergy": Case(
        "POST",
        lambda c: C.format(**c) + "/allergies",
        matrix(201, 404, 201, 404, 404),
        body=lambda c: {"substance": "peanut"},
        probe=count_of("allergies"),
    ),
    "list conditions": Case("GET", lambda c: C.format(**c) + "/conditions", READ),
    "list prescriptions": Case("GET", lambda c: C.format(**c) + "/prescriptions", READ),
    "list reminders": Case("GET", lambda c: C.format(**c) + "/reminders", READ),
    "take reminder": Case(
        "POST",
        lambda c: f"/api/v1/reminders/{c['reminder']}/taken",
        matrix(200, 404, 403, 404, 404),
    ),
    "fhir export": Case("GET", lambda c: C.format(**c) + "/fhir", READ),
    "list referrals": Case("GET", lambda c: C.format(**c) + "/referrals", READ),
    "list summaries": Case("GET", lambda c: C.format(**c) + "/summaries", READ),
    "upload document": Case(
        "POST",
        lambda c: C.format(**c) + "/documents",
        matrix(201, 404, 201, 404, 404),
        form=_form,
        probe=count_of("documents.files"),
    ),
    "list documents": Case("GET", lambda c: C.format(**c) + "/documents", READ),
    "get document": Case("GET", lambda c: f"/api/v1/documents/{c['document']}", READ),
    "document content": Case("GET", lambda c: f"/api/v1/documents/{c['document']}/content", READ),
    "book for the member": Case(
        "POST",
        lambda c: "/api/v1/appointments",
        matrix(201, 404, 403, 403, 403),
        body=lambda c: {
            "doctor_id": c["d"],
            "start": iso(MONDAY + timedelta(days=2, hours=1, minutes=30 * c["n"])),
            "kind": "video",
            "patient_id": c["c"],
        },
        probe=count_of("appointments"),
    ),
    "list the member's appointments": Case(
        "GET",
        lambda c: f"/api/v1/appointments?patient_id={c['c']}",
        matrix(200, 404, 404, 404, 200),
        check=_appointments,
    ),
    "list appointments": Case(
        "GET",
        lambda c: "/api/v1/appointments",
        matrix(200, 200, 200, 200, 200),
        check=_appointments,
    ),
    "get appointment": Case(
        "GET", lambda c: f"/api/v1/appointments/{c['visit']}", matrix(200, 404, 200, 404, 200)
    ),
    "calendar file": Case(
        "GET",
        lambda c: f"/api/v1/appointments/{c['visit']}/calendar.ics",
        matrix(200, 404, 200, 404, 404),
    ),
    "transcript": Case(
        "GET",
        lambda c: f"/api/v1/appointments/{c['visit']}/messages",
        matrix(200, 404, 200, 404, 404),
    ),
    "waiting-room place": Case(
        "GET",
        lambda c: f"/api/v1/appointments/{c['visit']}/queue",
        matrix(200, 404, 200, 404, 404),
    ),
    "visit summary": Case("GET", lambda c: f"/api/v1/appointments/{c['visit']}/summary", READ),
    "visit summary pdf": Case(
        "GET", lambda c: f"/api/v1/appointments/{c['visit']}/summary.pdf?lang=zh", READ
    ),
    "cancel appointment": Case(
        "POST",
        lambda c: f"/api/v1/appointments/{c['target']}/cancel",
        matrix(200, 404, 200, 404, 200),
        prepare=_fresh_booking,
        probe=field_of("appointments", "status"),
    ),
    "consent for the member": Case(
        "POST",
        lambda c: "/api/v1/me/consents",
        matrix(201, 404, 403, 403, 403),
        body=lambda c: {"kind": "online_care", "version": "2026-12", "patient_id": c["c"]},
        probe=count_of("online_care_consents"),
    ),
    "read family member": Case("GET", lambda c: FM.format(**c), matrix(200, 404, 403, 403, 403)),
    "edit family member": Case(
        "PATCH",
        lambda c: FM.format(**c),
        matrix(200, 404, 403, 403, 403),
        body=lambda c: {"name": f"Li Xiaoming {c['n']}"},
        probe=field_of("users", "name", "c"),
    ),
    "invite family member": Case(
        "POST",
        lambda c: FM.format(**c) + "/invitation",
        matrix(409, 404, 403, 403, 403),  # a child: no sign-in of their own
        body=lambda c: {"email": "xiaoming@example.com"},
    ),
}


@pytest.fixture
async def world(make_client: AppFactory, settings: Settings) -> tuple[Clinic, Ctx]:
    clock = FakeClock(MONDAY)
    limits = ConsultSettings(max_bookings_per_doctor=1000, max_bookings=1000)
    client = await make_client(long_sessions(settings).with_(consult=limits), clock=clock)
    clinic = await Clinic.open(client, clock)
    holder, other = clinic.patient_a, clinic.patient_b
    child = await clinic.add_family_member(holder)
    await clinic.add_family_member(
        other, name="X", birth_date="1950-05-01", sex="female", relation="parent"
    )
    ctx: Ctx = {"c": child["id"], "d": clinic.doctor["id"], "holder": holder}
    visit = await _fresh_booking(clinic, ctx, 0)
    ctx["visit"] = visit["target"]
    rx = await client.post(
        f"/api/v1/patients/{ctx['c']}/prescriptions",
        json={
            "appointment_id": ctx["visit"],
            "drug": "Amoxicillin",
            "dose": "250 mg",
            "times": ["09:00"],
            "timezone": "Asia/Shanghai",
            "start_date": "2026-03-02",
            "days": 2,
        },
        headers=clinic.h(clinic.doctor),
    )
    await ok(rx, 201)
    reminders = await ok(
        await client.get(f"/api/v1/patients/{ctx['c']}/reminders", headers=clinic.h(holder))
    )
    ctx["reminder"] = reminders["reminders"][0]["id"]
    document = await client.post(
        f"/api/v1/patients/{ctx['c']}/documents", data=_form(ctx), headers=clinic.h(holder)
    )
    ctx["document"] = (await ok(document, 201))["document"]["id"]
    return clinic, ctx


ORDER = ("other_holder", "other_doctor", "admin", "doctor", "holder")


def _who(clinic: Clinic, caller: str) -> dict[str, Any]:
    return {
        "holder": clinic.patient_a,
        "other_holder": clinic.patient_b,
        "doctor": clinic.doctor,
        "other_doctor": clinic.other_doctor,
        "admin": clinic.admin,
    }[caller]


@pytest.mark.parametrize("name", list(CASES))
async def test_each_caller_gets_exactly_its_rights_for_a_managed_person(
    world: tuple[Clinic, Ctx], name: str
) -> None:
    clinic, base = world
    await try_every_caller(
        clinic,
        base,
        name,
        CASES[name],
        callers=CALLERS,
        order=ORDER,
        who=lambda caller: _who(clinic, caller),
    )


async def test_the_members_audit_trail_names_the_holder_as_the_actor(
    world: tuple[Clinic, Ctx],
) -> None:
    clinic, ctx = world
    await ok(
        await clinic.client.get(
            f"/api/v1/patients/{ctx['c']}/record", headers=clinic.h(clinic.patient_a)
        )
    )
    trail = await ok(
        await clinic.client.get(
            f"/api/v1/admin/audit?patient={ctx['c']}&limit=200", headers=clinic.h(clinic.admin)
        )
    )
    reads = [e for e in trail["entries"] if e["action"] == "record.read"]
    assert reads
    assert all(e["patient_id"] == ctx["c"] for e in trail["entries"])
    assert (
        reads[-1]["actor_id"] == clinic.patient_a["id"]
        or reads[0]["actor_id"] == (clinic.patient_a["id"])
    )
    assert {e["action"] for e in trail["entries"]} >= {"family_member.create", "document.create"}
