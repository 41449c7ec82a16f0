"""Extreme but well-formed times and numbers (issue 22, item 8): a 422 naming the field, never
a 500, on every endpoint that takes one."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.server.clinic import MONDAY, Clinic

FAR_TIMES = [
    "9999-12-31T23:59:59-01:00",  # past year 9999 once in UTC
    "0001-01-01T00:00:00+01:00",  # before year 1 once in UTC
    "9999-12-31T23:59:59.999999Z",
    "0001-01-01T00:00:00Z",
]
HUGE = [str(2**63), str(2**64 + 1), "9" * 40]


async def refused(response: Any, field: str) -> None:
    assert response.status == 422, await response.text()
    body = await response.json()
    assert field in json.dumps(body["errors"]), body


def cursor(scope: str, moment: str) -> str:
    raw = json.dumps({"s": scope, "k": "d", "v": moment, "i": ""}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


@pytest.mark.parametrize("moment", FAR_TIMES)
async def test_far_times_in_queries_are_422(clinic: Clinic, moment: str) -> None:
    patient, doctor = clinic.patient_a, clinic.doctor
    records = f"/api/v1/patients/{patient['id']}"
    where = [
        (f"/api/v1/appointments?from={quote(moment)}", patient),
        (f"/api/v1/appointments?to={quote(moment)}", patient),
        (f"/api/v1/doctors/{doctor['id']}/slots?from={quote(moment)}", patient),
        (f"/api/v1/doctors/{doctor['id']}/slots?to={quote(moment)}", patient),
        (f"{records}/vitals?from={quote(moment)}", patient),
        (f"{records}/reminders?to={quote(moment)}", patient),
        (f"/api/v1/admin/audit?from={quote(moment)}", clinic.admin),
    ]
    for path, who in where:
        field = "to" if "?to=" in path else "from"
        await refused(await clinic.client.get(path, headers=clinic.h(who)), field)


@pytest.mark.parametrize("moment", FAR_TIMES)
async def test_a_cursor_with_a_far_time_is_422(clinic: Clinic, moment: str) -> None:
    doctor = clinic.doctor
    response = await clinic.client.get(
        f"/api/v1/doctors/{doctor['id']}/slots?cursor={cursor('slots', moment)}",
        headers=clinic.h(clinic.patient_a),
    )
    await refused(response, "cursor")


@pytest.mark.parametrize("number", HUGE)
async def test_after_seq_past_int64_is_422(clinic: Clinic, number: str) -> None:
    visit = await clinic.booked(clinic.patient_a, clinic.doctor, MONDAY + timedelta(hours=1))
    response = await clinic.client.get(
        f"/api/v1/appointments/{visit['id']}/messages?after_seq={number}",
        headers=clinic.h(clinic.patient_a),
    )
    await refused(response, "after_seq")


@pytest.mark.parametrize("moment", FAR_TIMES)
async def test_far_times_and_dates_in_bodies_are_422(clinic: Clinic, moment: str) -> None:
    patient, doctor = clinic.patient_a, clinic.doctor
    await clinic.booked(patient, doctor, MONDAY + timedelta(hours=1))  # D treats A
    records = f"/api/v1/patients/{patient['id']}"
    day = moment[:10]
    vital = {"kind": "heart_rate", "value": 70, "unit": "bpm", "measured_at": moment}
    await refused(
        await clinic.client.post(f"{records}/vitals", json=vital, headers=clinic.h(doctor)),
        "measured_at",
    )
    condition = {"name": "Asthma", "onset_date": day}
    await refused(
        await clinic.client.post(f"{records}/conditions", json=condition, headers=clinic.h(doctor)),
        "onset_date",
    )
    prescription = {
        "medication": "Amoxicillin",
        "dose": "500 mg",
        "times": ["08:00"],
        "start_date": day,
        "days": 7,
    }
    await refused(
        await clinic.client.post(
            f"{records}/prescriptions", json=prescription, headers=clinic.h(doctor)
        ),
        "start_date",
    )
    booking = {"doctor_id": doctor["id"], "start": moment, "kind": "video", "reason": "x"}
    response = await clinic.client.post(
        "/api/v1/appointments", json=booking, headers=clinic.h(patient)
    )
    await refused(response, "start")
