"""One patient cannot book every slot of a doctor (issue 22, item 6): at most
``max_bookings_per_doctor`` upcoming appointments with one doctor and ``max_bookings`` in all,
held under concurrent bookings."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from server.settings import ConsultSettings, Settings
from tests.clock import FakeClock
from tests.conftest import AppFactory, long_sessions
from tests.server.clinic import MONDAY, Clinic, ok, problem

PER_DOCTOR = 3
TOTAL = 4
# Monday's morning slots in Shanghai (09:00-12:00): 01:00Z, 01:30Z ... 03:30Z.
MORNING = [MONDAY + timedelta(hours=1, minutes=30 * n) for n in range(6)]


@pytest.fixture
async def clinic(make_client: AppFactory, settings: Settings) -> Clinic:
    clock = FakeClock(MONDAY)
    consult = ConsultSettings(max_bookings_per_doctor=PER_DOCTOR, max_bookings=TOTAL)
    client = await make_client(long_sessions(settings).with_(consult=consult), clock=clock)
    return await Clinic.open(client, clock)


async def test_concurrent_bookings_of_every_slot_keep_at_most_the_limit(clinic: Clinic) -> None:
    patient, doctor = clinic.patient_a, clinic.doctor
    responses = await asyncio.gather(*(clinic.book(patient, doctor, t) for t in MORNING))
    kept = [r for r in responses if r.status == 201]
    assert 1 <= len(kept) <= PER_DOCTOR
    for response in responses:
        if response.status != 201:
            body = await problem(response, 409, "conflict")
            assert body["reason"] == "booking_limit"
    mine = await ok(await clinic.client.get("/api/v1/appointments", headers=clinic.h(patient)))
    assert len(mine["appointments"]) == len(kept)  # refused bookings left nothing behind
    # The refused slots are free for someone else.
    taken = {datetime.fromisoformat(item["start"]) for item in mine["appointments"]}
    free = next(t for t in MORNING if t not in taken)
    await ok(await clinic.book(clinic.patient_b, doctor, free), 201)


async def test_the_limits_per_doctor_and_in_all_and_cancelling_frees_one(clinic: Clinic) -> None:
    patient, doctor, other = clinic.patient_a, clinic.doctor, clinic.other_doctor
    booked = [await clinic.booked(patient, doctor, t) for t in MORNING[:PER_DOCTOR]]
    refused = await clinic.book(patient, doctor, MORNING[PER_DOCTOR])
    assert (await problem(refused, 409, "conflict"))["reason"] == "booking_limit"
    # Another doctor is fine, up to the total.
    for t in MORNING[PER_DOCTOR:TOTAL]:
        await clinic.booked(patient, other, t)
    refused = await clinic.book(patient, other, MORNING[TOTAL])
    assert (await problem(refused, 409, "conflict"))["reason"] == "booking_limit"
    # Cancelling one frees its place.
    cancel = await clinic.client.post(
        f"/api/v1/appointments/{booked[0]['id']}/cancel", json={}, headers=clinic.h(patient)
    )
    await ok(cancel)
    await clinic.booked(patient, doctor, MORNING[PER_DOCTOR])
    # Appointments that have ended do not count: that afternoon the patient books again.
    clinic.clock.advance(hours=5)
    await clinic.booked(patient, doctor, MONDAY + timedelta(hours=6))
