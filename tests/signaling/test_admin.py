"""Admins watch rooms live (``/admin`` namespace and ``GET /admin/rooms``) and close them; the
hub's metrics."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from domain.appointments import AppointmentStatus
from domain.users import Role
from server import keys
from tests.conftest import METRICS, bearer
from tests.support.hub import Clinic, in_call, joined

SUMMARY_FIELDS = {
    "appointment_id",
    "doctor",
    "patient",
    "status",
    "waiting_since",
    "started_at",
    "participants",
    "message_count",
    "rev",
    "recording",
}


async def test_admin_feed_and_rest_view_follow_a_consultation(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT, name="Wang Fang")
    doctor = await clinic.user(Role.DOCTOR, name="Dr Li")
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    feed = await clinic.connect(admin, namespace="/admin")
    assert await feed.wait_for("rooms:snapshot") == {"rooms": []}

    p = await joined(clinic, patient, appointment)
    opened = await feed.wait_for("rooms:update")
    assert set(opened) == SUMMARY_FIELDS
    assert opened["doctor"] == {"id": doctor["id"], "name": "Dr Li"}
    assert opened["patient"] == {"id": patient["id"], "name": "Wang Fang"}
    assert opened["status"] == "waiting"
    assert opened["participants"] == [
        {"user_id": patient["id"], "role": "patient", "connected": True}
    ]

    d = await joined(clinic, doctor, appointment)
    await d.call("consult:admit", {"appointment_id": appointment})
    started = await feed.wait_for("rooms:update", lambda s: s["status"] == "in_progress")
    assert started["started_at"] is not None
    await p.call(
        "chat:send",
        {"appointment_id": appointment, "client_msg_id": "c1", "text": "secret symptom"},
    )
    counted = await feed.wait_for("rooms:update", lambda s: s["message_count"] == 1)
    assert "secret symptom" not in str(feed.events)  # no chat content reaches admins
    revs = [s["rev"] for s in feed.received("rooms:update")]
    assert revs == sorted(revs)
    assert len(set(revs)) == len(revs)

    response = await clinic.client.get("/api/v1/admin/rooms", headers=bearer(admin["access_token"]))
    assert response.status == 200
    assert (await response.json())["rooms"] == [counted]

    # A second admin connecting now gets the current state in its snapshot.
    late = await clinic.connect(admin, namespace="/admin")
    assert (await late.wait_for("rooms:snapshot"))["rooms"] == [counted]

    for user in (patient, doctor):
        denied = await clinic.client.get(
            "/api/v1/admin/rooms", headers=bearer(user["access_token"])
        )
        assert denied.status == 403


async def test_admin_closes_a_room_for_both_participants(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    admin = await clinic.user(Role.ADMIN)
    appointment = await clinic.appointment(patient, doctor)
    p, d = await in_call(clinic, patient, doctor, appointment)
    feed = await clinic.connect(admin, namespace="/admin")
    await feed.wait_for("rooms:snapshot")
    url = f"/api/v1/admin/rooms/{appointment}/close"

    assert (await clinic.client.post(url, headers=bearer(doctor["access_token"]))).status == 403
    missing = await clinic.client.post(
        f"/api/v1/admin/rooms/{'0' * 24}/close", headers=bearer(admin["access_token"])
    )
    assert missing.status == 404
    assert (await missing.json())["code"] == "not_found"

    response = await clinic.client.post(url, headers=bearer(admin["access_token"]))
    assert response.status == 204
    closed = {"appointment_id": appointment, "reason": "closed_by_admin"}
    assert await p.wait_for("consult:closed") == closed
    assert await d.wait_for("consult:closed") == closed
    removed = await feed.wait_for("rooms:removed")
    assert removed["appointment_id"] == appointment

    repo = clinic.client.app[keys.DATABASE].repos
    stored = await repo.appointments.get(appointment)
    assert stored is not None
    assert stored.status is AppointmentStatus.COMPLETED
    entries = [e for _, e in await repo.audit.query(actor_id=admin["id"])]
    assert [(e.action, e.outcome.value, e.resource_id, e.patient_id) for e in entries] == [
        ("consultation.close", "success", appointment, patient["id"]),
        ("consultation.close", "denied", "0" * 24, None),  # newest first
    ]
    listed = await clinic.client.get("/api/v1/admin/rooms", headers=bearer(admin["access_token"]))
    assert (await listed.json())["rooms"] == []
    assert (await clinic.client.post(url, headers=bearer(admin["access_token"]))).status == 404
    ack = await p.call("rtc:signal", {"appointment_id": appointment, "data": {"type": "bye"}})
    assert ack["error"]["code"] == "forbidden"


def metric(text: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def test_hub_metrics(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)

    async def scrape() -> str:
        return await (await clinic.client.get("/metrics", headers=METRICS)).text()

    async def eventually(check: Any) -> str:
        for _ in range(200):  # the gauges refresh on the hub's tick (50 ms in these tests)
            text = await scrape()
            if check(text):
                return text
            await asyncio.sleep(0.05)
        raise AssertionError(text)

    await joined(clinic, patient, appointment)
    text = await eventually(lambda t: metric(t, "telemed_hub_patients_waiting") == 1)
    assert metric(text, "telemed_hub_rooms_active") == 1
    assert metric(text, 'telemed_hub_sockets_connected{namespace="/"}') == 1

    d = await joined(clinic, doctor, appointment)
    await d.call("consult:admit", {"appointment_id": appointment})
    await d.call("rtc:signal", {"appointment_id": appointment, "data": {"type": "bye"}})
    await d.call("chat:send", {"appointment_id": appointment, "client_msg_id": "m", "text": "x"})
    text = await eventually(lambda t: metric(t, "telemed_hub_patients_waiting") == 0)
    assert metric(text, "telemed_hub_rooms_active") == 1
    assert metric(text, "telemed_hub_signal_relay_seconds_count") == 1
    assert metric(text, "telemed_hub_chat_ack_seconds_count") == 1
    assert metric(text, 'telemed_hub_events_total{event="consult:admit",outcome="ok"}') == 1

    await d.call("consult:end", {"appointment_id": appointment})
    await eventually(lambda t: metric(t, "telemed_hub_rooms_active") == 0)


async def test_openapi_documents_the_consultation_endpoints(clinic: Clinic) -> None:
    doc = await (await clinic.client.get("/api/v1/openapi.json")).json()
    paths = doc["paths"]
    messages = paths["/api/v1/appointments/{appointment_id}/messages"]["get"]
    assert {p["name"] for p in messages["parameters"]} == {"appointment_id", "after_seq", "limit"}
    assert "404" in messages["responses"]
    rooms = paths["/api/v1/admin/rooms"]["get"]
    assert "403" in rooms["responses"]
    assert "204" in paths["/api/v1/admin/rooms/{appointment_id}/close"]["post"]["responses"]
    summary = doc["components"]["schemas"]["RoomSummary"]["properties"]
    assert set(summary) == SUMMARY_FIELDS  # nothing else can leak into it
