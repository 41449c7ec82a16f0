"""Text-and-image consultations over real sockets, the real database and the real hub: both
sides open the chat without a video room (``text:open``), with the chat's own persistence, seq
and replay; the doctor's first message answers it; the deadline passing is told once; ending it
and turning it into a video call reach both sides; nobody else gets in. With the follow-up rule
off (under it, tests/signaling/test_text_follow_up_gate.py: the same once the doctor confirmed
the follow-up and the patient consented)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.users import Role
from server import keys
from server.documents.samples import sample_pdf
from server.settings import ClinicSettings, Settings
from tests.conftest import bearer, long_sessions
from tests.signaling.conftest import ClinicFactory
from tests.signaling.test_chat_attachments import upload
from tests.signaling.test_text_follow_up_gate import rule_off
from tests.support.hub import Clinic, HubClient, error_code


@pytest.fixture
async def clinic(make_clinic: ClinicFactory, settings: Settings) -> Clinic:
    return await make_clinic(rule_off(settings))


async def ask(clinic: Clinic, patient: dict[str, Any], doctor: dict[str, Any]) -> dict[str, Any]:
    response = await clinic.client.post(
        "/api/v1/appointments",
        json={"doctor_id": doctor["id"], "kind": "text", "reason": "a rash on my arm"},
        headers=bearer(patient["access_token"]),
    )
    assert response.status == 201, await response.text()
    appointment: dict[str, Any] = (await response.json())["appointment"]
    return appointment


async def opened(clinic: Clinic, user: dict[str, Any], appointment_id: str) -> HubClient:
    socket = await clinic.connect(user)
    ack = await socket.call("text:open", {"appointment_id": appointment_id})
    assert ack["ok"] is True, ack
    return socket


async def status_of(clinic: Clinic, appointment_id: str) -> str:
    appointment = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment_id)
    assert appointment is not None
    return appointment.status.value


async def test_both_sides_write_with_images_without_a_room_and_the_first_answer_starts_it(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    console = await clinic.connect(doctor)
    a = await ask(clinic, patient, doctor)
    # The doctor's console hears the question arrive on the text queue.
    asked = await console.wait_for("text:updated", lambda e: e["change"] == "asked")
    assert (asked["appointment_id"], asked["status"], asked["kind"]) == (a["id"], "booked", "text")
    photo = await upload(clinic, patient, sample_pdf(), "diagnosis")
    p = await opened(clinic, patient, a["id"])
    d = await opened(clinic, doctor, a["id"])

    sent = await p.call(
        "chat:send",
        {"appointment_id": a["id"], "client_msg_id": "p1", "text": "since Friday",
         "document_id": photo["id"]},
    )  # fmt: skip
    assert sent["ok"] is True, sent
    assert sent["message"]["seq"] == 1
    assert sent["message"]["sender"]["role"] == "patient"
    live = await d.wait_for("chat:message")
    assert live["attachment"]["document_id"] == photo["id"]
    assert await status_of(clinic, a["id"]) == "booked"  # the patient's words answer nothing
    assert await clinic.client.app[keys.HUB].room(a["id"]) is None  # no video room

    reply = await d.call(
        "chat:send", {"appointment_id": a["id"], "client_msg_id": "d1", "text": "Send a close-up"}
    )
    assert reply["ok"] is True, reply
    assert reply["message"]["seq"] == 2
    assert reply["message"]["sender"]["role"] == "doctor"
    update = await p.wait_for("text:updated")
    assert update == {
        "appointment_id": a["id"],
        "change": "answered",
        "kind": "text",
        "status": "in_progress",
        "overdue": False,
    }
    assert await status_of(clinic, a["id"]) == "in_progress"

    # A retried send is answered with the stored message, and stores nothing twice.
    again = await d.call(
        "chat:send", {"appointment_id": a["id"], "client_msg_id": "d1", "text": "Send a close-up"}
    )
    assert again["message"]["seq"] == 2

    # Typing reaches the other side only.
    assert (await p.call("chat:typing", {"appointment_id": a["id"], "typing": True}))["ok"]
    assert (await d.wait_for("chat:typing"))["from"] == patient["id"]


async def test_the_transcript_replays_after_a_lost_connection(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    p = await opened(clinic, patient, a["id"])
    for i in range(5):
        ack = await p.call(
            "chat:send", {"appointment_id": a["id"], "client_msg_id": f"m{i}", "text": f"n{i}"}
        )
        assert ack["message"]["seq"] == i + 1
    await p.drop()
    d = await opened(clinic, doctor, a["id"])
    history = await d.call("chat:history", {"appointment_id": a["id"], "after_seq": 2})
    assert [m["seq"] for m in history["messages"]] == [3, 4, 5]
    assert [m["text"] for m in history["messages"]] == ["n2", "n3", "n4"]
    back = await opened(clinic, patient, a["id"])
    whole = await back.call("chat:history", {"appointment_id": a["id"]})
    assert [m["seq"] for m in whole["messages"]] == [1, 2, 3, 4, 5]


async def test_nobody_else_opens_or_writes_in_it_and_it_has_no_video_room(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    stranger = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    video = await clinic.appointment(patient, doctor)
    s = await clinic.connect(stranger)
    assert error_code(await s.call("text:open", {"appointment_id": a["id"]})) == "not_found"
    sent = await s.call(
        "chat:send", {"appointment_id": a["id"], "client_msg_id": "x", "text": "hello"}
    )
    assert error_code(sent) == "forbidden"
    p = await clinic.connect(patient)
    # A video appointment's chat is its room's, not a text consultation's.
    assert error_code(await p.call("text:open", {"appointment_id": video})) == "not_found"
    # A text consultation has no waiting room.
    assert error_code(await p.call("consult:join", {"appointment_id": a["id"]})) == "not_video"
    # Without text:open, the socket may not write in it.
    sent = await p.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "y", "text": "x"})
    assert error_code(sent) == "forbidden"
    history = await clinic.client.get(
        f"/api/v1/appointments/{a['id']}/messages", headers=bearer(patient["access_token"])
    )
    assert (await history.json())["messages"] == []


async def test_the_deadline_passing_is_told_to_both_once(
    make_clinic: ClinicFactory, settings: Settings
) -> None:
    # Sockets whose tokens outlive the hour the clock moves by; answers due within the hour.
    hour = long_sessions(rule_off(settings)).with_(clinic=ClinicSettings(text_response_hours=1))
    clinic = await make_clinic(hour)
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    answered = await ask(clinic, patient, doctor)
    p = await opened(clinic, patient, a["id"])
    d = await clinic.connect(doctor)
    hub = clinic.client.app[keys.HUB]
    reply = await opened(clinic, doctor, answered["id"])
    ack = await reply.call(
        "chat:send", {"appointment_id": answered["id"], "client_msg_id": "r", "text": "Hello"}
    )
    assert ack["ok"] is True
    clinic.clock.advance(minutes=59)
    assert await hub.push_overdue_texts() == 0
    clinic.clock.advance(minutes=1)
    assert await hub.push_overdue_texts() == 1  # the answered one is not overdue
    told = await p.wait_for("text:updated", lambda e: e["change"] == "overdue")
    assert told == {
        "appointment_id": a["id"],
        "change": "overdue",
        "kind": "text",
        "status": "booked",
        "overdue": True,
    }
    await d.wait_for("text:updated", lambda e: e["change"] == "overdue")
    clinic.clock.advance(minutes=10)
    assert await hub.push_overdue_texts() == 0  # told once
    # An overdue consultation is still answered by the doctor's message.
    d2 = await opened(clinic, doctor, a["id"])
    late = await d2.call(
        "chat:send", {"appointment_id": a["id"], "client_msg_id": "late", "text": "Sorry"}
    )
    assert late["ok"] is True
    assert await status_of(clinic, a["id"]) == "in_progress"


async def test_ending_closes_the_chat_and_both_hear_it(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    p = await opened(clinic, patient, a["id"])
    d = await opened(clinic, doctor, a["id"])
    ack = await d.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "d", "text": "Hi"})
    assert ack["ok"] is True
    summary = await clinic.client.put(
        f"/api/v1/appointments/{a['id']}/summary",
        json={"diagnosis": "Eczema", "advice": "Moisturise"},
        headers=bearer(doctor["access_token"]),
    )
    assert summary.status == 200, await summary.text()
    assert (await p.wait_for("summary:updated"))["summary"]["diagnosis"] == "Eczema"
    ended = await clinic.client.post(
        f"/api/v1/appointments/{a['id']}/text/end", headers=bearer(doctor["access_token"])
    )
    assert ended.status == 200, await ended.text()
    told = await p.wait_for("text:updated", lambda e: e["change"] == "ended")
    assert told["status"] == "completed"
    late = await p.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "z", "text": "?"})
    assert error_code(late) == "text_consultation_closed"
    history = await p.call("chat:history", {"appointment_id": a["id"]})
    assert [m["text"] for m in history["messages"]] == ["Hi"]


async def test_turned_into_a_video_call_the_patient_is_told_and_joins_the_waiting_room(
    clinic: Clinic,
) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    clinic.clock.advance(minutes=10)
    p = await opened(clinic, patient, a["id"])
    ack = await p.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "q", "text": "?"})
    assert ack["ok"] is True
    moved = await clinic.client.post(
        f"/api/v1/appointments/{a['id']}/text/video", headers=bearer(doctor["access_token"])
    )
    assert moved.status == 200, await moved.text()
    told = await p.wait_for("text:updated", lambda e: e["change"] == "video")
    assert (told["kind"], told["status"]) == ("video", "booked")
    # No longer a text consultation: its chat is the video room's now.
    late = await p.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "t", "text": "x"})
    assert error_code(late) == "not_found"
    joined = await p.call("consult:join", {"appointment_id": a["id"]})
    assert joined["ok"] is True, joined
    assert joined["state"] == "waiting"
    d = await clinic.connect(doctor)
    assert (await d.call("consult:join", {"appointment_id": a["id"]}))["ok"]
    assert (await d.call("consult:admit", {"appointment_id": a["id"]}))["ok"]
    await p.wait_for("consult:admitted")
    # The text part of the conversation is the same transcript, continued by the call's chat.
    sent = await d.call(
        "chat:send", {"appointment_id": a["id"], "client_msg_id": "v", "text": "Hi"}
    )
    assert sent["message"]["seq"] == 2


async def test_a_withdrawn_question_leaves_the_doctors_queue_at_once(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    a = await ask(clinic, patient, doctor)
    console = await clinic.connect(doctor)
    cancelled = await clinic.client.post(
        f"/api/v1/appointments/{a['id']}/cancel", headers=bearer(patient["access_token"])
    )
    assert cancelled.status == 200, await cancelled.text()
    told = await console.wait_for("text:updated", lambda e: e["change"] == "cancelled")
    assert (told["appointment_id"], told["status"]) == (a["id"], "cancelled")
    p = await opened(clinic, patient, a["id"])
    late = await p.call("chat:send", {"appointment_id": a["id"], "client_msg_id": "c", "text": "?"})
    assert error_code(late) == "text_consultation_closed"
