"""The chat service against the real database: idempotent sends, gapless sequence numbers under
concurrent writers (also without a shared in-process lock, as across processes), history."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from chat.service import ChatService
from domain.chat import Sender
from domain.clock import utc_now
from domain.errors import Conflict, InvalidInput, PayloadTooLarge
from domain.ids import AppointmentId, UserId, new_id
from domain.users import Role
from storage.batches import IN_BATCH
from storage.messages import MessageRepository
from storage.mongo import open_database

PATIENT = Sender(id=UserId(new_id()), role=Role.PATIENT, name="Wang Fang")
DOCTOR = Sender(id=UserId(new_id()), role=Role.DOCTOR, name="Dr Li")


@pytest.fixture
async def messages(
    mongo_url: str, db_name: str, tmp_path: Path
) -> AsyncIterator[MessageRepository]:
    async with open_database(url=mongo_url, database=db_name, data_dir=tmp_path) as db:
        yield db.repos.messages


def service(messages: MessageRepository) -> ChatService:
    return ChatService(messages, clock=utc_now, max_chars=4000)


def appointment() -> AppointmentId:
    return AppointmentId(new_id())


async def test_sequence_and_idempotent_retry(messages: MessageRepository) -> None:
    chat = service(messages)
    room = appointment()
    first = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="m1", text="hello")
    second = await chat.send(appointment_id=room, sender=DOCTOR, client_msg_id="m2", text="hi")
    assert (first.created, first.message.seq) == (True, 1)
    assert (second.created, second.message.seq) == (True, 2)
    again = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="m1", text="hello")
    assert not again.created
    assert again.message == first.message
    assert [m.seq for m in await chat.history(room)] == [1, 2]
    # Sequences are per appointment.
    other = await chat.send(
        appointment_id=appointment(), sender=PATIENT, client_msg_id="m1", text="elsewhere"
    )
    assert other.message.seq == 1


async def test_a_refused_send_leaves_no_gap(messages: MessageRepository) -> None:
    chat = service(messages)
    room = appointment()
    await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="mine", text="one")
    with pytest.raises(Conflict):  # another participant's message id is not theirs to replay
        await chat.send(appointment_id=room, sender=DOCTOR, client_msg_id="mine", text="two")
    third = await chat.send(appointment_id=room, sender=DOCTOR, client_msg_id="d1", text="two")
    assert third.message.seq == 2


async def test_text_rules(messages: MessageRepository) -> None:
    chat = service(messages)
    room = appointment()
    longest = "医" * 4000
    stored = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="a", text=longest)
    assert stored.message.text == longest
    with pytest.raises(PayloadTooLarge):
        await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="b", text="x" * 4001)
    with pytest.raises(InvalidInput):
        await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="c", text=" \n ")
    assert [m.seq for m in await chat.history(room)] == [1]


async def test_concurrent_writers_without_a_shared_lock_get_gapless_seqs(
    messages: MessageRepository,
) -> None:
    """Two services (as two processes: no shared lock) and many concurrent senders."""
    room = appointment()
    nodes = [service(messages), service(messages)]

    async def send(i: int) -> int:
        chat = nodes[i % 2]
        sender = PATIENT if i % 3 else DOCTOR
        result = await chat.send(
            appointment_id=room, sender=sender, client_msg_id=f"c{i}", text=f"message {i}"
        )
        return result.message.seq

    seqs = await asyncio.gather(*(send(i) for i in range(120)))
    assert sorted(seqs) == list(range(1, 121))
    # Every retried send (same ids again, concurrently) answers the stored message.
    again = await asyncio.gather(*(send(i) for i in range(120)))
    assert again == seqs
    stored = await nodes[0].history(room, limit=500)
    assert [m.seq for m in stored] == list(range(1, 121))
    assert len({m.client_msg_id for m in stored}) == 120


async def test_history_pages_and_export(messages: MessageRepository) -> None:
    chat = service(messages)
    first, second = appointment(), appointment()
    for i in range(5):
        await chat.send(appointment_id=first, sender=PATIENT, client_msg_id=f"f{i}", text=str(i))
    await chat.send(appointment_id=second, sender=DOCTOR, client_msg_id="s0", text="s")
    assert [m.seq for m in await chat.history(first, after_seq=2, limit=2)] == [3, 4]
    assert [m.seq for m in await chat.history(first, after_seq=5)] == []
    exported = await messages.list_for_appointments([second, first])
    assert [(m["appointment_id"], m["seq"]) for m in exported] == sorted(
        [(first, i) for i in range(1, 6)] + [(second, 1)]
    )
    assert await messages.list_for_appointments([]) == []
    # More appointments than one lookup batch: the same order as one query.
    many = [appointment() for _ in range(IN_BATCH + 5)]
    for room in many:
        await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="m", text="m")
    exported = await messages.list_for_appointments([*reversed(many), first, first])
    assert [(m["appointment_id"], m["seq"]) for m in exported] == sorted(
        [(room, 1) for room in many] + [(first, i) for i in range(1, 6)]
    )


async def test_stored_document_shape(messages: MessageRepository, mongo_url: str) -> None:
    chat = service(messages)
    room = appointment()
    sent = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="x", text="shape")
    doc = await messages._c.find_one({"_id": sent.message.id})
    assert doc is not None
    assert set(doc) == {
        "_id",
        "appointment_id",
        "seq",
        "sender_id",
        "sender_role",
        "sender_name",
        "text",
        "client_msg_id",
        "sent_at",
    }
    assert doc["sender_role"] == "patient"
    assert doc["sender_name"] == "Wang Fang"


async def test_a_process_overtaken_by_another_catches_up(messages: MessageRepository) -> None:
    """Each process remembers the last seq it stored; another process's sends make that stale,
    which costs a refused insert, never a gap or a duplicate."""
    room = appointment()
    one, two = service(messages), service(messages)
    seqs = []
    for i, chat in enumerate([one, two, two, one, one, two]):
        sent = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id=f"m{i}", text="x")
        seqs.append(sent.message.seq)
    assert seqs == [1, 2, 3, 4, 5, 6]
