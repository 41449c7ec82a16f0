"""The patient's message from the waiting room (``consult:waiting_message``) over real
Socket.IO: it reaches the doctor's open sockets (the console), not anyone else's; only the
waiting patient of the room sends one; bad text is refused and nothing is relayed."""

from __future__ import annotations

import asyncio
from typing import Any

from domain.users import Role
from tests.conftest import bearer
from tests.support.hub import Clinic, error_code, joined

EVENT = "consult:waiting_message"


async def test_the_waiting_patients_message_reaches_the_doctors_console(clinic: Clinic) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    other_doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT, name="Wang Fang")
    appointment = await clinic.appointment(patient, doctor)
    console = await clinic.connect(doctor)  # the console: connected, in no room
    elsewhere = await clinic.connect(other_doctor)
    p = await joined(clinic, patient, appointment)

    ack = await p.call(EVENT, {"appointment_id": appointment, "text": "  我到了，信号可能不好  "})
    assert ack["ok"] is True, ack
    heard = await console.wait_for(EVENT)
    assert heard == {
        "appointment_id": appointment,
        "patient": {"id": patient["id"], "name": "Wang Fang"},
        "text": "我到了，信号可能不好",
        "sent_at": ack["sent_at"],
    }

    # Refused, and nothing relayed: empty, too long, a bidi override, another room.
    for bad in ("   ", "x" * 201, "Dr\u202eWang", "a\nb"):
        refused = await p.call(EVENT, {"appointment_id": appointment, "text": bad})
        assert error_code(refused) == "invalid_input", (bad, refused)
    other = await clinic.appointment(await clinic.user(Role.PATIENT), other_doctor)
    refused = await p.call(EVENT, {"appointment_id": other, "text": "hi"})
    assert error_code(refused) == "forbidden"

    # The doctor of the room cannot send one; once admitted, neither can the patient.
    d = await joined(clinic, doctor, appointment)
    assert error_code(await d.call(EVENT, {"appointment_id": appointment, "text": "hi"})) == (
        "forbidden"
    )
    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"]
    await p.wait_for("consult:admitted")
    assert error_code(await p.call(EVENT, {"appointment_id": appointment, "text": "hi"})) == (
        "not_waiting"
    )

    await asyncio.sleep(0.3)
    assert len(console.received(EVENT)) == 1
    assert elsewhere.received(EVENT) == []


async def test_a_console_opened_later_sees_the_message_until_the_patient_is_admitted(
    clinic: Clinic,
) -> None:
    doctor = await clinic.user(Role.DOCTOR)
    patient = await clinic.user(Role.PATIENT, name="Li Na")
    appointment = await clinic.appointment(patient, doctor)
    p = await joined(clinic, patient, appointment)
    ack = await p.call(EVENT, {"appointment_id": appointment, "text": "I'm here"})
    assert ack["ok"] is True, ack
    assert (await p.wait_for("consult:state", lambda s: s["waiting_message"] is not None))[
        "waiting_message"
    ] == {"text": "I'm here", "sent_at": ack["sent_at"]}

    async def console_rooms() -> list[dict[str, Any]]:
        response = await clinic.client.get(
            f"/api/v1/doctors/{doctor['id']}/rooms", headers=bearer(doctor["access_token"])
        )
        assert response.status == 200, await response.text()
        rooms: list[dict[str, Any]] = (await response.json())["rooms"]
        return rooms

    # The console opened after the message (a new tab, another node's socket) reads it.
    [room] = await console_rooms()
    assert room["waiting_message"] == {"text": "I'm here", "sent_at": ack["sent_at"]}
    d = await joined(clinic, doctor, appointment)
    assert (await d.call("consult:admit", {"appointment_id": appointment}))["ok"]
    admitted = await d.wait_for("consult:state", lambda s: s["status"] == "in_progress")
    assert admitted["waiting_message"] is None
    [room] = await console_rooms()
    assert room["waiting_message"] is None
