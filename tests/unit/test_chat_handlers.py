"""The chat's handlers (signaling/handlers/chat.py) without sockets: a consultation's chat in a
video call (who may send, who hears it, guests left out, resends, attachments, the admins'
message count, the transcript read and audited, typing). Text consultations' chat is in
test_text_handlers.py; the same events over real sockets in tests/signaling (test_chat,
test_chat_attachments, test_guest_call)."""

from __future__ import annotations

import pytest

from domain.audit import Outcome
from domain.errors import Conflict, Forbidden, InvalidInput, NotFound, PayloadTooLarge
from domain.ids import UserId
from domain.users import Role
from signaling.acks import NOTHING
from signaling.models import ChatHistoryIn, ChatSendIn, TypingIn
from signaling.socket_rooms import consult_room
from tests.support.hub_fakes import (
    APPOINTMENT,
    DOCTOR,
    PATIENT,
    ChatDesk,
    appointment,
    call_in_progress,
    connection,
    document,
)

ROOM = consult_room(APPOINTMENT)
STRANGER = UserId("e" * 24)
DOCUMENT = "f" * 24


def say(text: str, msg: str = "m1", document_id: str | None = None) -> ChatSendIn:
    return ChatSendIn(
        appointment_id=APPOINTMENT, client_msg_id=msg, text=text, document_id=document_id
    )


async def test_a_message_is_stored_and_told_to_the_participants_not_the_guests() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox, guest=True)
    ack = await desk.chat.send(call.patient, say("I feel better"), NOTHING)
    message = ack["message"]
    assert (message["seq"], message["text"], message["sender"]["role"]) == (
        1,
        "I feel better",
        "patient",
    )
    [sent] = desk.outbox.events("chat:message")
    assert sent.data == message
    assert sent.to == ROOM
    assert sent.reached == {"p1", "d1"}
    assert sent.skip == ("g1",)
    assert [m.text for m in desk.clinic.messages.stored] == ["I feel better"]


async def test_the_message_count_is_published_to_the_admins_only() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.chat.send(call.doctor, say("Hello"), NOTHING)
    await desk.chat.send(call.patient, say("Hi", "m2"), NOTHING)
    assert [p.participants for p in desk.outbox.published] == [False, False]
    last = desk.outbox.published[-1].update.after
    assert last is not None
    assert last.message_count == 2


async def test_a_socket_that_has_not_joined_cannot_send() -> None:
    desk = ChatDesk()
    await call_in_progress(desk.consult, desk.outbox)
    elsewhere = connection(PATIENT, Role.PATIENT, "p2")  # the patient's other tab
    with pytest.raises(Forbidden):
        await desk.chat.send(elsewhere, say("hello?"), NOTHING)
    assert desk.clinic.messages.stored == []
    assert desk.outbox.sent == []


async def test_a_socket_without_a_seat_in_the_room_cannot_send() -> None:
    desk = ChatDesk()
    await call_in_progress(desk.consult, desk.outbox)
    # Its record says joined, but the room holds another socket of the patient's.
    stale = connection(PATIENT, Role.PATIENT, "p9", appointment_id=APPOINTMENT)
    with pytest.raises(Forbidden):
        await desk.chat.send(stale, say("hello?"), NOTHING)
    assert desk.clinic.messages.stored == []


async def test_a_resend_answers_the_stored_message_and_tells_nobody() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    first = await desk.chat.send(call.patient, say("Once"), NOTHING)
    again = await desk.chat.send(call.patient, say("Once"), NOTHING)
    assert again == first
    assert len(desk.outbox.events("chat:message")) == 1
    assert len(desk.outbox.published) == 1
    assert len(desk.clinic.messages.stored) == 1


async def test_another_participants_client_msg_id_is_a_conflict() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.chat.send(call.patient, say("Mine", "shared"), NOTHING)
    with pytest.raises(Conflict):
        await desk.chat.send(call.doctor, say("Theirs", "shared"), NOTHING)
    assert len(desk.outbox.events("chat:message")) == 1


async def test_an_empty_or_too_long_message_is_refused_before_it_is_stored() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    with pytest.raises(InvalidInput):
        await desk.chat.send(call.patient, say("   "), NOTHING)
    with pytest.raises(PayloadTooLarge):
        await desk.chat.send(call.patient, say("x" * 4001), NOTHING)
    assert desk.clinic.messages.stored == []
    assert desk.outbox.sent == []


async def test_a_message_carries_the_patients_own_document() -> None:
    desk = ChatDesk()
    desk.documents.add(document(DOCUMENT))
    call = await call_in_progress(desk.consult, desk.outbox)
    ack = await desk.chat.send(call.doctor, say("", document_id=DOCUMENT), NOTHING)
    attachment = ack["message"]["attachment"]
    assert attachment["document_id"] == DOCUMENT
    assert attachment["title"] == "Blood count"
    assert attachment["content_type"] == "application/pdf"
    [sent] = desk.outbox.events("chat:message")
    assert sent.data["attachment"] == attachment


@pytest.mark.parametrize("owner", [STRANGER, None], ids=["another_patients", "missing"])
async def test_any_other_document_is_not_found(owner: UserId | None) -> None:
    desk = ChatDesk()
    if owner is not None:
        desk.documents.add(document(DOCUMENT, patient_id=owner))
    call = await call_in_progress(desk.consult, desk.outbox)
    with pytest.raises(NotFound):
        await desk.chat.send(call.patient, say("see this", document_id=DOCUMENT), NOTHING)
    assert desk.clinic.messages.stored == []
    assert desk.outbox.sent == []


async def test_the_ack_latency_is_observed_for_each_send() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    await desk.chat.send(call.patient, say("one"), NOTHING)
    await desk.chat.send(call.patient, say("one"), NOTHING)  # a resend is acked too
    assert len(desk.latency.observed) == 2
    assert all(seconds >= 0 for seconds in desk.latency.observed)


async def test_a_lagging_message_count_does_not_fail_the_send() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)

    async def broken(appointment_id: str, seq: int) -> object:
        raise ConnectionError("registry down")

    desk.consult.count_message = broken  # type: ignore[method-assign,assignment]
    ack = await desk.chat.send(call.patient, say("still here"), NOTHING)
    assert ack["message"]["seq"] == 1
    assert len(desk.outbox.events("chat:message")) == 1
    assert desk.outbox.published == []


async def test_history_reads_the_transcript_and_audits_the_read() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox)
    for n in range(3):
        await desk.chat.send(call.patient, say(f"line {n}", f"m{n}"), NOTHING)
    ack = await desk.chat.history(
        call.doctor, ChatHistoryIn(appointment_id=APPOINTMENT, after_seq=1, limit=1), NOTHING
    )
    assert [m["text"] for m in ack["messages"]] == ["line 1"]
    [entry] = desk.audit.entries
    assert (entry.actor_id, entry.action, entry.outcome) == (
        DOCTOR,
        "transcript.read",
        Outcome.SUCCESS,
    )
    assert entry.details == {"via": "socket", "after_seq": 1, "count": 1}
    assert entry.client_ip == call.doctor.address


async def test_history_is_not_found_for_a_stranger_and_the_refusal_audited() -> None:
    desk = ChatDesk()
    stranger = connection(STRANGER, Role.PATIENT, "x1")
    with pytest.raises(NotFound):
        await desk.chat.history(stranger, ChatHistoryIn(appointment_id=APPOINTMENT), NOTHING)
    [entry] = desk.audit.entries
    assert (entry.actor_id, entry.outcome) == (STRANGER, Outcome.DENIED)


async def test_a_guest_neither_reads_the_transcript_nor_types() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox, guest=True)
    assert call.guest is not None
    with pytest.raises(Forbidden):
        await desk.chat.history(call.guest, ChatHistoryIn(appointment_id=APPOINTMENT), NOTHING)
    assert desk.audit.entries == []


async def test_typing_reaches_the_other_participant_only() -> None:
    desk = ChatDesk()
    call = await call_in_progress(desk.consult, desk.outbox, guest=True)
    ack = await desk.chat.typing(
        call.patient, TypingIn(appointment_id=APPOINTMENT, typing=True), NOTHING
    )
    assert ack == {}
    [sent] = desk.outbox.events("chat:typing")
    assert sent.data == {"appointment_id": APPOINTMENT, "from": PATIENT, "typing": True}
    assert sent.reached == {"d1"}
    assert set(sent.skip) == {"p1", "g1"}


async def test_typing_needs_the_joined_consultation() -> None:
    desk = ChatDesk()
    other = desk.clinic.appointments.add(appointment(UserId("9" * 24)))
    call = await call_in_progress(desk.consult, desk.outbox)
    with pytest.raises(Forbidden):
        await desk.chat.typing(
            call.patient, TypingIn(appointment_id=other.id, typing=True), NOTHING
        )
    assert desk.outbox.sent == []
