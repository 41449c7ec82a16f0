"""The after-visit summary: its doctor writes it during the call (and after), the patient hears
it at once (``summary:updated``) and reads it with the visit's prescriptions; nobody else learns
it exists; every read and write is audited without its text; bad input changes nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.users import Role
from tests.conftest import bearer
from tests.support.hub import Clinic, in_call


async def call(
    clinic: Clinic, method: str, path: str, who: dict[str, Any], body: Any = None
) -> tuple[int, Any]:
    response = await clinic.client.request(
        method, f"/api/v1{path}", json=body, headers=bearer(who["access_token"])
    )
    return response.status, await response.json()


async def test_the_doctor_writes_the_summary_and_the_patient_sees_it_at_once(
    clinic: Clinic,
) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    other_doctor = await clinic.user(Role.DOCTOR)
    other_patient = await clinic.user(Role.PATIENT)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    path = f"/appointments/{appointment}/summary"
    visit_day = clinic.clock.now.date()
    plan = {
        "diagnosis": "Acute bronchitis 急性支气管炎",
        "advice": "Rest, fluids; come back if the fever returns.",
        "follow_up_date": (visit_day + timedelta(days=14)).isoformat(),
        "follow_up_note": "Listen to the chest again",
    }

    # Before the consultation has started: nothing to summarise yet.
    status, problem = await call(clinic, "PUT", path, doctor, plan)
    assert (status, problem["code"]) == (409, "summary_not_writable")

    p, _ = await in_call(clinic, patient, doctor, appointment)
    rx = {
        "appointment_id": appointment,
        "drug": "Amoxicillin",
        "dose": "500 mg",
        "times": ["08:00", "20:00"],
        "start_date": visit_day.isoformat(),
        "days": 7,
    }
    assert (await call(clinic, "POST", f"/patients/{patient['id']}/prescriptions", doctor, rx))[
        0
    ] == 201
    assert await call(clinic, "GET", path, patient) == (
        200,
        {
            "appointment_id": appointment,
            "summary": None,
            "prescriptions": await _rx(clinic, patient),
            "documents": [],
            "writable": True,
            "follow_up_from": (visit_day + timedelta(days=1)).isoformat(),
            "follow_up_until": (visit_day + timedelta(days=366)).isoformat(),
        },
    )

    status, written = await call(clinic, "PUT", path, doctor, plan)
    assert status == 200, written
    assert written["summary"]["diagnosis"] == plan["diagnosis"]
    assert written["summary"]["follow_up_date"] == plan["follow_up_date"]
    assert [x["drug"] for x in written["prescriptions"]] == ["Amoxicillin"]
    heard = await p.wait_for("summary:updated")
    assert heard == written

    # The patient reads it (the same), the doctor rewrites it after the call.
    assert await call(clinic, "GET", path, patient) == (200, written)
    status, rewritten = await call(clinic, "PUT", path, doctor, {**plan, "follow_up_date": None})
    assert status == 200
    assert rewritten["summary"]["follow_up_date"] is None
    assert rewritten["summary"]["created_at"] == written["summary"]["created_at"]
    await p.wait_for("summary:updated", lambda e: e["summary"]["follow_up_date"] is None)

    # Nobody else: 404 as if there were no such appointment; the patient cannot write it.
    for stranger in (other_doctor, other_patient, admin):
        assert (await call(clinic, "GET", path, stranger))[0] in (403, 404)
    assert (await call(clinic, "GET", path, other_doctor))[0] == 404
    assert (await call(clinic, "GET", path, other_patient))[0] == 404
    assert (await call(clinic, "PUT", path, other_doctor, plan))[0] == 404
    assert (await call(clinic, "PUT", path, patient, plan))[0] == 403

    # Bad input changes nothing.
    for bad in (
        {"diagnosis": "", "advice": "  "},
        {**plan, "follow_up_date": visit_day.isoformat()},
        {**plan, "follow_up_date": (visit_day + timedelta(days=400)).isoformat()},
        {**plan, "follow_up_date": "next week"},
        {**plan, "diagnosis": "x" * 501},
        {**plan, "extra": True},
    ):
        status, _ = await call(clinic, "PUT", path, doctor, bad)
        assert status == 422, bad
    assert await call(clinic, "GET", path, patient) == (200, rewritten)

    # Audited, without the text.
    status, audit = await call(clinic, "GET", f"/admin/audit?patient={patient['id']}", admin)
    actions = [e["action"] for e in audit["entries"]]
    assert actions.count("summary.write") >= 2
    assert "summary.read" in actions
    assert "bronchitis" not in str(audit)


async def test_the_follow_up_day_is_a_day_of_the_patients_calendar(clinic: Clinic) -> None:
    """A visit at 01:00 UTC is the evening before in Los Angeles: the day after the visit, for
    that patient, is the UTC day of the visit itself (the form offers it; the server takes
    it); the visit's own day in their calendar is refused."""
    start = clinic.clock.now.replace(hour=1, minute=0, second=0, microsecond=0) + timedelta(days=1)
    clinic.clock.now = start  # before anyone signs in: their tokens are of this time
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT, timezone="America/Los_Angeles")
    appointment = await clinic.appointment(patient, doctor, start=start)
    await in_call(clinic, patient, doctor, appointment)
    path = f"/appointments/{appointment}/summary"
    status, visit = await call(clinic, "GET", path, doctor)
    assert status == 200, visit
    their_day = start.date() - timedelta(days=1)  # 17:00 or 18:00 the evening before
    assert visit["follow_up_from"] == start.date().isoformat()
    assert visit["follow_up_until"] == (their_day + timedelta(days=366)).isoformat()
    plan = {"diagnosis": "Sinusitis", "advice": "", "follow_up_note": ""}
    status, problem = await call(
        clinic, "PUT", path, doctor, {**plan, "follow_up_date": their_day.isoformat()}
    )
    assert status == 422, problem
    status, written = await call(
        clinic, "PUT", path, doctor, {**plan, "follow_up_date": start.date().isoformat()}
    )
    assert status == 200, written
    assert written["summary"]["follow_up_date"] == start.date().isoformat()


async def test_a_visit_that_did_not_happen_has_no_summary_to_write(clinic: Clinic) -> None:
    from domain.appointments import AppointmentStatus
    from server import keys

    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    appointment = await clinic.appointment(patient, doctor)
    moved = await clinic.client.app[keys.DATABASE].repos.appointments.transition(
        appointment, AppointmentStatus.NO_SHOW, now=clinic.clock.now
    )
    assert moved is not None
    path = f"/appointments/{appointment}/summary"
    status, visit = await call(clinic, "GET", path, doctor)
    assert (status, visit["writable"], visit["summary"]) == (200, False, None)
    status, problem = await call(clinic, "PUT", path, doctor, {"diagnosis": "x", "advice": ""})
    assert (status, problem["code"]) == (409, "summary_not_writable")


async def _rx(clinic: Clinic, patient: dict[str, Any]) -> list[Any]:
    status, page = await call(clinic, "GET", f"/patients/{patient['id']}/prescriptions", patient)
    assert status == 200
    return list(page["prescriptions"])
