"""Group commit of chat messages (chat/batching.py) against the real database: concurrent sends
share writes, and every rule of the chat holds as with one insert per message: gapless
sequences, idempotent resends, another participant's message id refused, concurrent writers
in other processes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from chat.batching import BatchedInserts
from chat.service import ChatService
from domain.chat import ChatMessage, Sender
from domain.clock import utc_now
from domain.errors import Conflict
from domain.ids import AppointmentId, MessageId, UserId, new_id
from domain.users import Role
from storage.messages import ClientMsgIdTaken, MessageRepository, SeqTaken
from storage.mongo import open_database

PATIENT = Sender(id=UserId(new_id()), role=Role.PATIENT, name="Wang Fang")
DOCTOR = Sender(id=UserId(new_id()), role=Role.DOCTOR, name="Dr Li")


@pytest.fixture
async def messages(
    mongo_url: str, db_name: str, tmp_path: Path
) -> AsyncIterator[MessageRepository]:
    async with open_database(url=mongo_url, database=db_name, data_dir=tmp_path) as db:
        yield db.repos.messages


def batched_service(messages: MessageRepository) -> tuple[ChatService, BatchedInserts]:
    store = BatchedInserts(messages)
    return ChatService(store, clock=utc_now, max_chars=4000), store


def message(room: str, seq: int, client_msg_id: str) -> ChatMessage:
    return ChatMessage(
        id=MessageId(new_id()),
        appointment_id=AppointmentId(room),
        seq=seq,
        sender_id=PATIENT.id,
        sender_role=PATIENT.role,
        sender_name=PATIENT.name,
        text="hello",
        client_msg_id=client_msg_id,
        sent_at=datetime.now(UTC),
    )


async def test_insert_many_reports_each_refusal(messages: MessageRepository) -> None:
    room = new_id()
    await messages.insert(message(room, 1, "a"))
    outcome = await messages.insert_many(
        [
            message(room, 2, "b"),
            message(room, 1, "c"),  # seq taken
            message(room, 3, "a"),  # client_msg_id taken
            message(new_id(), 1, "a"),  # another appointment: fine
        ]
    )
    assert [type(o) for o in outcome] == [type(None), SeqTaken, ClientMsgIdTaken, type(None)]
    assert [m.seq for m in await messages.history(room)] == [1, 2]
    assert await messages.insert_many([]) == []


async def test_many_rooms_share_writes_and_keep_their_sequences(
    messages: MessageRepository,
) -> None:
    chat, store = batched_service(messages)
    rooms = [AppointmentId(new_id()) for _ in range(40)]

    async def room_sends(room: AppointmentId) -> list[int]:
        seqs = []
        for n in range(5):
            sender = PATIENT if n % 2 else DOCTOR
            sent = await chat.send(
                appointment_id=room, sender=sender, client_msg_id=f"m{n}", text=f"{n}"
            )
            assert sent.created
            seqs.append(sent.message.seq)
        return seqs

    assert await asyncio.gather(*(room_sends(r) for r in rooms)) == [[1, 2, 3, 4, 5]] * 40
    assert store.batches < 200 / 4  # 200 messages, far fewer writes
    for room in rooms:
        assert [m.seq for m in await chat.history(room)] == [1, 2, 3, 4, 5]


async def test_resends_and_foreign_ids_in_batches(messages: MessageRepository) -> None:
    chat, _ = batched_service(messages)
    room = AppointmentId(new_id())
    first = await chat.send(appointment_id=room, sender=PATIENT, client_msg_id="p1", text="a")
    again, foreign = await asyncio.gather(
        chat.send(appointment_id=room, sender=PATIENT, client_msg_id="p1", text="a"),
        chat.send(appointment_id=room, sender=DOCTOR, client_msg_id="p1", text="b"),
        return_exceptions=True,
    )
    assert not isinstance(again, BaseException)
    assert (again.created, again.message) == (False, first.message)
    assert isinstance(foreign, Conflict)
    nxt = await chat.send(appointment_id=room, sender=DOCTOR, client_msg_id="d1", text="c")
    assert nxt.message.seq == 2


async def test_batching_writers_in_two_processes_stay_gapless(
    messages: MessageRepository,
) -> None:
    """Two services with their own batches (as two processes) write to one appointment."""
    room = AppointmentId(new_id())
    nodes = [batched_service(messages)[0], batched_service(messages)[0]]

    async def send(i: int) -> int:
        sent = await nodes[i % 2].send(
            appointment_id=room, sender=PATIENT, client_msg_id=f"c{i}", text=f"{i}"
        )
        return sent.message.seq

    seqs = await asyncio.gather(*(send(i) for i in range(80)))
    assert sorted(seqs) == list(range(1, 81))
    assert [m.seq for m in await nodes[1].history(room, limit=500)] == list(range(1, 81))
