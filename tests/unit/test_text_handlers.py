"""Text consultations at the hub (signaling/handlers/texts.py, and their chat in
signaling/handlers/chat.py) without sockets: who opens one, writing without a room, the
doctor's first message answering it once, its closing, and the follow-up rule. The same over
real sockets in tests/signaling (test_text_consultations, test_text_answered_notice,
test_text_follow_up_gate)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.errors import Forbidden, NotFound
from domain.follow_up import (
    CONSENT_VERSION,
    ConsentRequired,
    EligibilityStatus,
    EligibilityUnconfirmed,
)
from domain.ids import AppointmentId, UserId
from domain.text_consultations import TextConsultationClosed
from domain.users import Role
from signaling.acks import NOTHING
from signaling.gateway import Connection
from signaling.models import AppointmentIn, ChatSendIn, TypingIn
from signaling.socket_rooms import consult_room, user_room
from tests.support.hub_fakes import (
    APPOINTMENT,
    DOCTOR,
    PATIENT,
    START,
    ChatDesk,
    appointment,
    call_in_progress,
    connection,
)

TEXT = AppointmentId("7" * 24)
ROOM = consult_room(TEXT)
STRANGER = UserId("e" * 24)
OPEN = AppointmentIn(appointment_id=TEXT)


def text_desk(status: AppointmentStatus = AppointmentStatus.BOOKED, **kw: bool) -> ChatDesk:
    desk = ChatDesk(**kw)
    asked = replace(
        appointment(TEXT, kind=AppointmentKind.TEXT, status=status),
        respond_by=START + timedelta(hours=24),
    )
    desk.clinic.appointments.add(asked)
    return desk


def patient() -> Connection:
    return connection(PATIENT, Role.PATIENT, "p1", name="Wang Fang")


def doctor() -> Connection:
    return connection(DOCTOR, Role.DOCTOR, "d1", name="Dr Li")


def say(text: str, msg: str) -> ChatSendIn:
    return ChatSendIn(appointment_id=TEXT, client_msg_id=msg, text=text)


async def stored(desk: ChatDesk) -> Appointment:
    current = await desk.clinic.appointments.get(TEXT)
    assert current is not None
    return current


async def test_a_participant_opens_a_text_consultation_and_hears_it() -> None:
    desk = text_desk()
    p = patient()
    ack = await desk.texts.open(p, OPEN, NOTHING)
    assert ack == {
        "appointment_id": TEXT,
        "status": "booked",
        "respond_by": "2030-03-05T09:00:00.000Z",
        "overdue": False,
    }
    assert TEXT in p.texts
    assert desk.outbox.rooms[ROOM] == {"p1"}


async def test_it_is_overdue_once_the_response_deadline_passed() -> None:
    desk = text_desk()
    desk.clinic.clock.now = START + timedelta(hours=25)
    ack = await desk.texts.open(doctor(), OPEN, NOTHING)
    assert ack["overdue"] is True


@pytest.mark.parametrize(
    ("who", "which"),
    [(STRANGER, TEXT), (PATIENT, APPOINTMENT), (PATIENT, AppointmentId("0" * 24))],
    ids=["a_stranger", "a_video_appointment", "no_such_appointment"],
)
async def test_anything_but_a_participants_text_consultation_is_not_found(
    who: UserId, which: AppointmentId
) -> None:
    desk = text_desk()
    conn = connection(who, Role.PATIENT, "x1")
    with pytest.raises(NotFound):
        await desk.texts.open(conn, AppointmentIn(appointment_id=which), NOTHING)
    assert conn.texts == set()
    assert not desk.outbox.rooms


async def test_an_opened_text_consultation_is_written_in_without_a_room() -> None:
    desk = text_desk()
    p, d = patient(), doctor()
    await desk.texts.open(p, OPEN, NOTHING)
    await desk.texts.open(d, OPEN, NOTHING)
    ack = await desk.chat.send(p, say("A rash since Monday", "m1"), NOTHING)
    assert ack["message"]["sender"]["role"] == "patient"
    [sent] = desk.outbox.events("chat:message")
    assert (sent.to, sent.skip, sent.reached) == (ROOM, (), {"p1", "d1"})
    # No video room, so no message count to publish.
    assert desk.outbox.published == []
    assert await desk.consult.registry.get(TEXT) is None


async def test_writing_needs_the_text_consultation_opened() -> None:
    desk = text_desk()
    with pytest.raises(Forbidden):
        await desk.chat.send(patient(), say("hello?", "m1"), NOTHING)
    assert desk.clinic.messages.stored == []


async def test_the_doctors_first_message_answers_it_once() -> None:
    desk = text_desk()
    p, d = patient(), doctor()
    await desk.texts.open(p, OPEN, NOTHING)
    await desk.texts.open(d, OPEN, NOTHING)
    await desk.chat.send(d, say("Send me a photo", "d1"), NOTHING)
    assert (await stored(desk)).status is AppointmentStatus.IN_PROGRESS
    updated = [(data, room) for event, data, room in desk.pushed.sent if event == "text:updated"]
    assert [room for _, room in updated] == [user_room(PATIENT), user_room(DOCTOR)]
    assert updated[0][0] == {
        "appointment_id": TEXT,
        "change": "answered",
        "kind": "text",
        "status": "in_progress",
        "overdue": False,
    }
    assert [a.id for a in desk.answered] == [TEXT]
    await desk.chat.send(d, say("And the date it began", "d2"), NOTHING)
    await desk.chat.send(p, say("Here", "p1"), NOTHING)
    assert len(desk.pushed.sent) == 2
    assert len(desk.answered) == 1


async def test_the_patients_message_does_not_answer_it() -> None:
    desk = text_desk()
    p = patient()
    await desk.texts.open(p, OPEN, NOTHING)
    await desk.chat.send(p, say("Anyone there?", "m1"), NOTHING)
    assert (await stored(desk)).status is AppointmentStatus.BOOKED
    assert desk.pushed.sent == []
    assert desk.answered == []


async def test_a_failing_answered_hook_does_not_fail_the_message() -> None:
    desk = text_desk()

    def broken(_: Appointment) -> None:
        raise RuntimeError("smtp down")

    desk.texts._answered = broken
    d = doctor()
    await desk.texts.open(d, OPEN, NOTHING)
    ack = await desk.chat.send(d, say("Answered", "m1"), NOTHING)
    assert ack["message"]["seq"] == 1
    assert (await stored(desk)).status is AppointmentStatus.IN_PROGRESS
    assert len(desk.pushed.sent) == 2


async def test_a_finished_text_consultation_is_closed_to_writing() -> None:
    desk = text_desk(AppointmentStatus.BOOKED)
    p = patient()
    await desk.texts.open(p, OPEN, NOTHING)
    desk.clinic.appointments.add(replace(await stored(desk), status=AppointmentStatus.COMPLETED))
    with pytest.raises(TextConsultationClosed):
        await desk.chat.send(p, say("one more thing", "m1"), NOTHING)
    with pytest.raises(TextConsultationClosed):
        await desk.chat.typing(p, TypingIn(appointment_id=TEXT, typing=True), NOTHING)
    assert desk.outbox.sent == []


async def test_typing_in_a_text_consultation_reaches_the_other_participant() -> None:
    desk = text_desk()
    p, d = patient(), doctor()
    await desk.texts.open(p, OPEN, NOTHING)
    await desk.texts.open(d, OPEN, NOTHING)
    await desk.chat.typing(d, TypingIn(appointment_id=TEXT, typing=True), NOTHING)
    [sent] = desk.outbox.events("chat:typing")
    assert sent.reached == {"p1"}


async def test_closing_it_stops_hearing_it() -> None:
    desk = text_desk()
    p, d = patient(), doctor()
    await desk.texts.open(p, OPEN, NOTHING)
    await desk.texts.open(d, OPEN, NOTHING)
    assert await desk.texts.close(p, OPEN, NOTHING) == {}
    assert p.texts == set()
    await desk.chat.send(d, say("Are you there?", "m1"), NOTHING)
    [sent] = desk.outbox.events("chat:message")
    assert sent.reached == {"d1"}
    with pytest.raises(Forbidden):
        await desk.chat.send(p, say("yes", "m2"), NOTHING)


async def test_closing_it_keeps_a_socket_that_joined_the_video_room_in_it() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    call.patient.texts.add(APPOINTMENT)  # opened as a text before it became a video call
    await desk.texts.close(call.patient, AppointmentIn(appointment_id=APPOINTMENT), NOTHING)
    assert "p1" in desk.outbox.rooms[consult_room(APPOINTMENT)]


async def test_tell_sends_text_updated_to_both_participants() -> None:
    desk = text_desk()
    await desk.texts.tell(await stored(desk), "cancelled")
    assert [(e, d["change"], r) for e, d, r in desk.pushed.sent] == [
        ("text:updated", "cancelled", user_room(PATIENT)),
        ("text:updated", "cancelled", user_room(DOCTOR)),
    ]


async def test_a_gated_follow_up_needs_the_patients_consent_to_open() -> None:
    desk = text_desk(gated=True)
    desk.follow_ups.gate(TEXT, EligibilityStatus.PENDING)
    p = patient()
    with pytest.raises(ConsentRequired):
        await desk.texts.open(p, OPEN, NOTHING)
    assert p.texts == set()
    assert not desk.outbox.rooms
    desk.consents.accepted[PATIENT] = {CONSENT_VERSION}
    await desk.texts.open(p, OPEN, NOTHING)
    assert TEXT in p.texts
    # The doctor opens it whatever the patient's consent.
    await desk.texts.open(doctor(), OPEN, NOTHING)


async def test_a_gated_follow_up_is_written_in_once_the_doctor_confirmed_it() -> None:
    desk = text_desk(gated=True)
    desk.follow_ups.gate(TEXT, EligibilityStatus.PENDING)
    desk.consents.accepted[PATIENT] = {CONSENT_VERSION}
    p = patient()
    await desk.texts.open(p, OPEN, NOTHING)
    with pytest.raises(EligibilityUnconfirmed):
        await desk.chat.send(p, say("hello", "m1"), NOTHING)
    assert desk.clinic.messages.stored == []
    desk.follow_ups.gate(TEXT, EligibilityStatus.CONFIRMED)
    await desk.chat.send(p, say("hello", "m1"), NOTHING)
    assert len(desk.clinic.messages.stored) == 1


async def test_two_first_answers_at_once_move_it_and_tell_once() -> None:
    # Two of the doctor's sockets both read it booked; the status move is a compare-and-set.
    desk = text_desk()
    asked = await stored(desk)
    await desk.texts.answered(asked, Role.DOCTOR)
    await desk.texts.answered(asked, Role.DOCTOR)
    assert len(desk.pushed.sent) == 2  # text:updated to the two participants, once
    assert len(desk.answered) == 1


async def test_a_resend_in_a_text_consultation_tells_nobody() -> None:
    desk = text_desk()
    d = doctor()
    await desk.texts.open(d, OPEN, NOTHING)
    first = await desk.chat.send(d, say("Answered", "m1"), NOTHING)
    assert await desk.chat.send(d, say("Answered", "m1"), NOTHING) == first
    assert len(desk.outbox.events("chat:message")) == 1
    assert len(desk.answered) == 1
