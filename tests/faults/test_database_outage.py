"""The database (a private SecantusDB process) stops while both participants of a consultation
keep chatting, and starts again on the same port with the same data.

Every ``chat:send`` during the outage is answered with an error ack, never a false ``ok``; the
careful client (tests/support/outbox.py) keeps each unacknowledged message and resends it with
the same ``client_msg_id`` until it is stored. Afterwards the transcript holds every message
exactly once, in one gapless sequence, and each ``ok`` ack named the message as stored."""

from __future__ import annotations

import asyncio
from pathlib import Path

from domain.users import Role
from server.settings import DatabaseSettings, Settings
from storage.embedded import EmbeddedDatabase
from tests.conftest import make_settings
from tests.signaling.conftest import ClinicFactory
from tests.support.hub import in_call
from tests.support.outbox import Outbox

PER_SIDE = 12


async def test_chat_through_a_database_outage_loses_and_doubles_nothing(
    make_clinic: ClinicFactory, tmp_path: Path
) -> None:
    database = EmbeddedDatabase(tmp_path / "db")
    await database.start()
    try:
        base: Settings = make_settings(database.url, "outage", tmp_path / "var")
        base = base.with_(
            database=DatabaseSettings(
                mongodb_url=database.url, mongodb_database="outage", mongodb_timeout_ms=500
            )
        )
        clinic = await make_clinic(base)
        patient = await clinic.user(Role.PATIENT)
        doctor = await clinic.user(Role.DOCTOR)
        appointment = await clinic.appointment(patient, doctor)
        p, d = await in_call(clinic, patient, doctor, appointment)
        boxes = {"p": (Outbox(appointment, "p"), p), "d": (Outbox(appointment, "d"), d)}
        down = asyncio.Event()
        refused_while_down: list[str] = []

        async def chat(tag: str) -> None:
            """Write a message every few milliseconds, trying everything pending each time."""
            box, client = boxes[tag]
            for _ in range(PER_SIDE):
                box.write()
                before = len(box.refusals)
                await box.flush(client)
                if down.is_set():
                    refused_while_down.extend(box.refusals[before:])
                await asyncio.sleep(0.01)

        chatting = asyncio.gather(chat("p"), chat("d"))
        await asyncio.sleep(0.05)
        await database.stop()
        down.set()
        await chatting  # some messages went before the outage, the rest are pending

        for box, client in boxes.values():
            assert box.pending, "nothing was left to resend"
            assert not await box.flush(client)  # still down: refused, kept
        assert refused_while_down
        assert set(refused_while_down) == {"unavailable"}  # an error ack, never a false ok

        down.clear()
        database.process = None
        await database.start()  # same port, same data
        for box, client in boxes.values():
            await box.flush_until_done(client)

        history = (await d.call("chat:history", {"appointment_id": appointment}))["messages"]
        acked = {**boxes["p"][0].acked, **boxes["d"][0].acked}
        assert len(acked) == 2 * PER_SIDE
        assert sorted(m["client_msg_id"] for m in history) == sorted(acked)
        assert [m["seq"] for m in history] == list(range(1, 2 * PER_SIDE + 1))
        for message in history:
            assert acked[message["client_msg_id"]] == message
        # Each participant's live feed never showed a message twice.
        for client in (p, d):
            seqs = [m["seq"] for m in client.received("chat:message")]
            assert len(seqs) == len(set(seqs))
    finally:
        await clinic.close()
        await database.stop()
