"""What the browser app needs beyond the hub's own events: the doctor's open rooms for the
clinic console (``GET /doctors/{id}/rooms`` and the ``consult:removed`` event), and the
patient's place in the waiting room (``GET /appointments/{id}/queue``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.users import Role
from domain.wait_estimate import DEFAULT_TYPICAL
from server import keys
from tests.conftest import bearer
from tests.support.hub import Clinic, joined


async def get(clinic: Clinic, path: str, who: dict[str, Any]) -> tuple[int, Any]:
    response = await clinic.client.get(f"/api/v1{path}", headers=bearer(who["access_token"]))
    return response.status, await response.json()


async def test_patients_see_their_place_in_the_queue(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    first, second, other = [await clinic.user(Role.PATIENT) for _ in range(3)]
    a1 = await clinic.appointment(first, doctor)
    a2 = await clinic.appointment(second, doctor, start=clinic.clock.now + timedelta(minutes=5))

    status, before = await get(clinic, f"/appointments/{a1}/queue", first)
    assert status == 200
    assert before == {
        "appointment_id": a1,
        "position": None,
        "waiting": 0,
        "doctor_busy": False,
        "waiting_since": None,
        "estimated_wait_seconds": None,
        "wait_from_history": False,
    }

    await joined(clinic, first, a1)
    clinic.clock.advance(seconds=30)
    await joined(clinic, second, a2)
    assert (await get(clinic, f"/appointments/{a1}/queue", first))[1]["position"] == 1
    _, place = await get(clinic, f"/appointments/{a2}/queue", second)
    assert place["position"] == 2
    assert place["waiting"] == 2
    assert place["waiting_since"] is not None

    d = await joined(clinic, doctor, a1)
    assert (await d.call("consult:admit", {"appointment_id": a1}))["ok"]
    _, place = await get(clinic, f"/appointments/{a2}/queue", second)
    assert place["position"] == 1
    assert place["waiting"] == 1
    assert place["doctor_busy"] is True

    # The doctor may look too; nobody else (an admin neither): 404 as if it did not exist.
    assert (await get(clinic, f"/appointments/{a2}/queue", doctor))[0] == 200
    admin = await clinic.user(Role.ADMIN)
    for stranger in (other, admin):
        status, problem = await get(clinic, f"/appointments/{a2}/queue", stranger)
        assert status == 404
        assert problem["code"] == "not_found"
    assert (await get(clinic, "/appointments/0123456789abcdef01234567/queue", first))[0] == 404


async def test_the_console_lists_the_doctors_rooms_and_hears_them_go(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR, name="Dr Li")
    other_doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT, name="Wang Fang")
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    console = await clinic.connect(doctor)  # the clinic console: connected, in no room

    assert await get(clinic, f"/doctors/{doctor['id']}/rooms", doctor) == (200, {"rooms": []})
    p = await joined(clinic, patient, appointment)
    state = await console.wait_for("consult:state")
    assert state["appointment_id"] == appointment

    status, body = await get(clinic, f"/doctors/{doctor['id']}/rooms", doctor)
    assert status == 200
    assert [r["appointment_id"] for r in body["rooms"]] == [appointment]
    room = body["rooms"][0]
    assert room["participants"][0]["name"] == "Wang Fang"
    assert room["participants"][0]["state"] == "waiting"
    assert (await get(clinic, f"/doctors/{doctor['id']}/rooms", admin))[0] == 200
    assert (await get(clinic, f"/doctors/{doctor['id']}/rooms", other_doctor))[0] == 404
    assert (await get(clinic, f"/doctors/{doctor['id']}/rooms", patient))[0] == 403

    # The waiting patient goes away: the room closes, and the console is told.
    await p.call("consult:leave", {"appointment_id": appointment})
    removed = await console.wait_for("consult:removed")
    assert removed["appointment_id"] == appointment
    assert removed["rev"] > state["rev"]
    assert await get(clinic, f"/doctors/{doctor['id']}/rooms", doctor) == (200, {"rooms": []})


async def _past_consultations(clinic: Clinic, doctor: dict[str, Any], minutes: list[int]) -> None:
    """Completed consultations of the doctor, lasting these many minutes, earlier today."""
    repos = clinic.client.app[keys.DATABASE].repos
    patient = await clinic.user(Role.PATIENT)
    start = clinic.clock.now - timedelta(hours=6)
    for length in minutes:
        booked = await repos.appointments.insert(
            patient_id=patient["id"],
            doctor_id=doctor["id"],
            start=start,
            end=start + timedelta(minutes=30),
            kind=AppointmentKind.VIDEO,
            reason="",
            now=start,
        )
        for status, at in (
            (AppointmentStatus.WAITING, start),
            (AppointmentStatus.IN_PROGRESS, start),
            (AppointmentStatus.COMPLETED, start + timedelta(minutes=length)),
        ):
            assert await repos.appointments.transition(booked.id, status, now=at) is not None
        start += timedelta(minutes=30)


async def test_the_waiting_room_estimates_the_wait_from_the_doctors_recent_consultations(
    clinic: Clinic,
) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    first, second, third = [await clinic.user(Role.PATIENT) for _ in range(3)]
    a1 = await clinic.appointment(first, doctor)
    a2 = await clinic.appointment(second, doctor, start=clinic.clock.now + timedelta(minutes=5))
    a3 = await clinic.appointment(third, doctor, start=clinic.clock.now + timedelta(minutes=10))

    # No history yet: the default length, and said so.
    await joined(clinic, first, a1)
    _, place = await get(clinic, f"/appointments/{a1}/queue", first)
    assert place["position"] == 1
    assert place["estimated_wait_seconds"] == 0  # next, and the doctor is free
    await joined(clinic, second, a2)
    _, place = await get(clinic, f"/appointments/{a2}/queue", second)
    assert place["estimated_wait_seconds"] == DEFAULT_TYPICAL.total_seconds()
    assert place["wait_from_history"] is False

    await _past_consultations(clinic, doctor, [10, 12, 20])  # median 12 minutes
    d = await joined(clinic, doctor, a1)
    assert (await d.call("consult:admit", {"appointment_id": a1}))["ok"]
    clinic.clock.advance(minutes=4)
    await joined(clinic, third, a3)
    _, place = await get(clinic, f"/appointments/{a2}/queue", second)
    assert (place["position"], place["wait_from_history"]) == (1, True)
    assert place["estimated_wait_seconds"] == 8 * 60  # 12 - 4 minutes of the call in progress
    _, place = await get(clinic, f"/appointments/{a3}/queue", third)
    assert place["estimated_wait_seconds"] == (12 + 8) * 60  # one ahead
