"""Medication reminders that fall due reach every open socket of their patient, and only theirs:
a real prescription (REST) creates the reminders, the hub's housekeeping claims and pushes them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from domain.users import Role
from server import keys
from server.settings import Settings
from tests.clock import FakeClock
from tests.conftest import bearer, long_sessions
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import Clinic

# 07:55 in Shanghai on 2 March 2026.
START = datetime(2026, 3, 1, 23, 55, tzinfo=UTC)


async def prescribe(
    clinic: Clinic, doctor: dict[str, Any], patient: dict[str, Any], at: str, *, slot: int = 0
) -> None:
    appointment = await clinic.appointment(patient, doctor, start=START - timedelta(hours=slot + 1))
    response = await clinic.client.post(
        f"/api/v1/patients/{patient['id']}/prescriptions",
        json={
            "appointment_id": appointment,
            "drug": "Amlodipine 5 mg",
            "dose": "1 tablet",
            "times": [at],
            "timezone": "Asia/Shanghai",
            "start_date": "2026-03-02",
            "days": 1,
        },
        headers=bearer(doctor["access_token"]),
    )
    assert response.status == 201, await response.text()


async def test_due_reminders_reach_the_patients_open_sockets(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(long_sessions(settings), clock=FakeClock(START))
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    other = await clinic.user(Role.PATIENT)
    await prescribe(clinic, doctor, patient, "08:00")
    await prescribe(clinic, doctor, other, "08:05", slot=1)
    phone, laptop = await clinic.connect(patient), await clinic.connect(patient)
    bystander = await clinic.connect(other)

    clinic.clock.advance(minutes=6)  # 08:01 in Shanghai
    first = await phone.wait_for("reminder:due")
    assert await laptop.wait_for("reminder:due") == first
    assert set(first) == {
        "reminder_id",
        "prescription_id",
        "patient_id",
        "drug",
        "dose",
        "due_at",
        "local_time",
        "timezone",
    }
    assert first["patient_id"] == patient["id"]
    assert (first["drug"], first["dose"], first["local_time"]) == (
        "Amlodipine 5 mg",
        "1 tablet",
        "08:00",
    )
    assert first["due_at"] == "2026-03-02T00:00:00.000Z"
    assert first["timezone"] == "Asia/Shanghai"
    reminders = await clinic.client.get(
        f"/api/v1/patients/{patient['id']}/reminders", headers=bearer(patient["access_token"])
    )
    stored = (await reminders.json())["reminders"]
    assert [r["id"] for r in stored] == [first["reminder_id"]]
    assert stored[0]["notified_at"] is not None  # claimed: no other process pushes it again

    clinic.clock.advance(minutes=4)  # 08:05: the other patient's dose
    theirs = await bystander.wait_for("reminder:due")
    assert theirs["patient_id"] == other["id"]
    assert [r["reminder_id"] for r in bystander.received("reminder:due")] == [theirs["reminder_id"]]
    assert [r["reminder_id"] for r in phone.received("reminder:due")] == [
        first["reminder_id"]
    ]  # once


async def test_pushing_claims_each_reminder_once(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    clinic = await make_clinic(
        long_sessions(settings), clock=FakeClock(START), hub_housekeeping=300.0
    )  # no auto push
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT)
    await prescribe(clinic, doctor, patient, "08:00")
    hub = clinic.client.app[keys.HUB]
    assert await hub.push_due_reminders() == 0  # not due yet
    clinic.clock.advance(minutes=10)
    assert await hub.push_due_reminders() == 1
    assert await hub.push_due_reminders() == 0
