"""A server process dies (kill -9) in the middle of a real call.

Two ``telemed serve`` processes share one Redis and one database; the patient is on node 1, the
doctor on node 2, both with real aiortc peers exchanging generated audio and video, chatting
with the careful client of ``tests/support/outbox.py``. Node 1 is killed while the patient has
messages in flight. The patient's client connects to node 2 at once (the dead node's record of
the patient's seat does not stand in the way: nobody waits for it to expire), is re-admitted,
a new negotiation brings the call back to ``connected`` with media both ways, the client resends
what was never acknowledged with the same ``client_msg_id``, and the transcript holds every
message exactly once, in one gapless sequence."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from domain.users import Role
from media.peer import GeneratedPeer
from storage.mongo import Database
from tests.support.call import HubCall
from tests.support.cluster import Node, People, node_env, running_nodes, shared_database, sign_in
from tests.support.hub import HubClient
from tests.support.outbox import Outbox

pytestmark = [pytest.mark.redis, pytest.mark.slow]


@pytest.fixture
def nodes(tmp_path: Path, mongo_url: str, redis_url: str, db_name: str) -> Iterator[list[Node]]:
    with running_nodes(tmp_path, node_env(mongo_url, db_name, redis_url)) as started:
        yield started


@pytest.fixture
async def database(mongo_url: str, db_name: str, tmp_path: Path) -> AsyncIterator[Database]:
    async with shared_database(mongo_url, db_name, tmp_path) as db:
        yield db


def sees(receiver: GeneratedPeer, sender: GeneratedPeer) -> bool:
    """The receiver got the sender's own pictures (by their marker) and sound."""
    got = receiver.received
    return got.markers[sender.signature or 0] >= 5 and got.audio_frames >= 10


async def media_both_ways(a: HubCall, b: HubCall) -> None:
    async with asyncio.timeout(60):
        await asyncio.gather(a.wait_connected(), b.wait_connected())
        await asyncio.gather(
            a.peer.received.wait_for(lambda _: sees(a.peer, b.peer)),
            b.peer.received.wait_for(lambda _: sees(b.peer, a.peer)),
        )
    assert a.peer.pc.connectionState == b.peer.pc.connectionState == "connected"


async def test_killing_the_patients_node_mid_call(
    nodes: list[Node], database: Database, tmp_path: Path, mongo_url: str, db_name: str
) -> None:
    node1, node2 = nodes
    people = People(database, tmp_path, mongo_url, db_name)
    patient_user = await people.user(Role.PATIENT, "patient@fault.example")
    doctor_user = await people.user(Role.DOCTOR, "doctor@fault.example")
    appointment = await people.appointment(patient_user, doctor_user)
    ref = {"appointment_id": appointment}
    clients: list[HubClient] = []
    peers: list[HubCall] = []

    async def connect(node: Node, token: str) -> HubClient:
        client = HubClient(node.url, token)
        clients.append(client)
        return await client.connect()

    patient_token = (await sign_in(node1, "patient@fault.example"))["access_token"]
    doctor_token = (await sign_in(node2, "doctor@fault.example"))["access_token"]
    try:
        patient = await connect(node1, patient_token)
        waiting = await patient.call("consult:join", ref)
        assert waiting["state"] == "waiting"
        doctor = await connect(node2, doctor_token)
        joined = await doctor.call("consult:join", ref)
        assert (await doctor.call("consult:admit", ref))["ok"] is True
        admitted = await patient.wait_for("consult:admitted")

        patient_peer = HubCall(patient, appointment, admitted["ice_servers"], polite=True)
        doctor_peer = HubCall(doctor, appointment, joined["ice_servers"], polite=False)
        peers += [patient_peer, doctor_peer]
        assert await doctor_peer.call()
        await media_both_ways(patient_peer, doctor_peer)

        patient_box = Outbox(appointment, "p")
        doctor_box = Outbox(appointment, "d")
        for _ in range(5):
            patient_box.write()
            doctor_box.write()
        assert await patient_box.flush(patient)
        assert await doctor_box.flush(doctor)

        # Messages in flight while node 1 dies: some may be stored without their ack arriving,
        # some never reach the server. The client cannot tell which; it keeps them all.
        in_flight = [patient_box.write() for _ in range(4)]
        sends = [
            asyncio.ensure_future(patient_box.send_one(patient, m, within=10)) for m in in_flight
        ]
        await asyncio.sleep(0)  # let the first emits start
        node1.kill()
        await asyncio.gather(*sends)
        await patient.wait_disconnected()
        for _ in range(2):  # written while the connection is down: they cannot go out yet
            assert not await patient_box.send_one(patient, patient_box.write())
        assert len(patient_box.pending) >= 2

        # The patient's client comes back through node 2 at once: re-admitted straight away,
        # although node 1 never released its seat (its heartbeat has not even expired yet).
        patient = await connect(node2, patient_token)
        rejoined = await patient.call("consult:join", ref)
        assert rejoined["ok"] is True, rejoined
        assert rejoined["state"] == "admitted"
        patient_seat = next(p for p in rejoined["room"]["participants"] if p["role"] == "patient")
        assert patient_seat["connected"] is True

        # A new negotiation: the reloaded patient page has a new peer; the doctor, seeing the
        # patient back, calls again.
        await patient_peer.close()
        await doctor.wait_for("consult:state", lambda s: s["rev"] >= rejoined["room"]["rev"])
        await doctor_peer.close()
        patient_peer = HubCall(patient, appointment, rejoined["ice_servers"], polite=True)
        doctor_peer = HubCall(doctor, appointment, joined["ice_servers"], polite=False)
        peers += [patient_peer, doctor_peer]
        assert await doctor_peer.call()
        await media_both_ways(patient_peer, doctor_peer)

        # What was never acknowledged is sent again, same ids; and the chat goes on.
        await patient_box.flush_until_done(patient)
        patient_box.write("back again")
        doctor_box.write("welcome back")
        assert await patient_box.flush(patient)
        assert await doctor_box.flush(doctor)

        history = (await doctor.call("chat:history", ref))["messages"]
        expected = set(patient_box.acked) | set(doctor_box.acked)
        assert len(expected) == 5 + 4 + 2 + 1 + 5 + 1
        assert sorted(m["client_msg_id"] for m in history) == sorted(expected)  # once each
        assert [m["seq"] for m in history] == list(range(1, len(expected) + 1))  # gapless
        for message in history:  # every ack told the truth about what is stored
            box = patient_box if message["client_msg_id"].startswith("p-") else doctor_box
            assert box.acked[message["client_msg_id"]] == message
        # The patient's rejoined client sees the same transcript.
        assert (await patient.call("chat:history", ref))["messages"] == history
        assert patient_peer.errors == doctor_peer.errors == []

        assert (await doctor.call("consult:end", ref))["ok"] is True
        assert (await patient.wait_for("consult:ended"))["reason"] == "completed"
    finally:
        for peer in peers:
            with contextlib.suppress(Exception):
                await peer.close()
        for client in clients:
            with contextlib.suppress(Exception):
                await client.close()
