"""A real WebRTC call through the hub: two aiortc peers (patient and doctor) signal over
Socket.IO, connect, exchange generated audio and video, chat, and the doctor ends it."""

from __future__ import annotations

import asyncio

import pytest

from domain.appointments import AppointmentStatus
from domain.users import Role
from media.peer import GeneratedPeer
from server import keys
from tests.support.hub import Clinic
from tests.support.peer import CallPeer

pytestmark = pytest.mark.slow


async def test_a_real_call(clinic: Clinic) -> None:
    patient = await clinic.user(Role.PATIENT)
    doctor = await clinic.user(Role.DOCTOR)
    appointment = await clinic.appointment(patient, doctor)
    ref = {"appointment_id": appointment}

    patient_socket = await clinic.connect(patient)
    waiting = await patient_socket.call("consult:join", ref)
    assert waiting["state"] == "waiting"
    doctor_socket = await clinic.connect(doctor)
    joined = await doctor_socket.call("consult:join", ref)
    patient_peer = CallPeer(patient_socket, appointment, waiting["ice_servers"])
    doctor_peer = CallPeer(doctor_socket, appointment, joined["ice_servers"])
    try:
        assert (await doctor_socket.call("consult:admit", ref))["ok"] is True
        await patient_socket.wait_for("consult:admitted")

        offer = await doctor_peer.call()
        assert offer == {"ok": True, "delivered": True}
        doctor_media, patient_media = doctor_peer.peer, patient_peer.peer

        def sees(receiver: GeneratedPeer, sender: GeneratedPeer) -> bool:
            # The other participant's own pictures (read from their marker), and sound.
            got = receiver.received
            return got.markers[sender.signature or 0] >= 5 and got.audio_frames >= 10

        async with asyncio.timeout(60):
            await asyncio.gather(doctor_media.wait_connected(), patient_media.wait_connected())
            await asyncio.gather(
                patient_media.received.wait_for(lambda _: sees(patient_media, doctor_media)),
                doctor_media.received.wait_for(lambda _: sees(doctor_media, patient_media)),
            )
        assert doctor_media.pc.connectionState == patient_media.pc.connectionState == "connected"

        sent = await patient_socket.call(
            "chat:send", {**ref, "client_msg_id": "c1", "text": "I can see you"}
        )
        assert sent["ok"] is True
        assert (await doctor_socket.wait_for("chat:message"))["text"] == "I can see you"

        assert (await doctor_peer.send({"type": "bye"}))["delivered"] is True
        assert (await doctor_socket.call("consult:end", ref))["ok"] is True
        assert (await patient_socket.wait_for("consult:ended"))["reason"] == "completed"
        stored = await clinic.client.app[keys.DATABASE].repos.appointments.get(appointment)
        assert stored is not None
        assert stored.status is AppointmentStatus.COMPLETED
        assert patient_peer.errors == doctor_peer.errors == []
    finally:
        await asyncio.gather(patient_peer.close(), doctor_peer.close())
