"""Call setup through the hub: two synthetic participants (the media package's
``GeneratedPeer``, generated video and audio) sign in with their tokens, join, the doctor admits,
offers, the patient answers, and the clock stops when both WebRTC connections are
``connected``. Times are taken from the patient's ``consult:join``."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

import socketio

from media.ice import IceServer
from media.peer import GeneratedPeer
from media.tracks import PatternVideoTrack, ToneAudioTrack

# Small and slow generated video: the signaling is what is timed, not the encoder.
WIDTH, HEIGHT, FPS = 320, 240, 15
TIMEOUT = 30.0


class _Participant:
    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.sio = socketio.AsyncClient(reconnection=False)
        self.signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.admitted: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.sio.on("rtc:signal", self._on_signal)
        self.sio.on("consult:admitted", self._on_admitted)
        self.peer: GeneratedPeer | None = None

    async def _on_signal(self, data: dict[str, Any]) -> None:
        self.signals.put_nowait(data["data"])

    async def _on_admitted(self, data: dict[str, Any]) -> None:
        if not self.admitted.done():
            self.admitted.set_result(data)

    async def connect(self) -> None:
        await self.sio.connect(
            self.url, auth={"token": self.token}, transports=["websocket"], wait_timeout=10
        )

    async def call(self, event: str, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.sio.call(event, data, timeout=TIMEOUT)
        if not ack.get("ok"):
            raise RuntimeError(f"{event}: {ack.get('error')}")
        return ack

    def make_peer(self, ice_servers: list[dict[str, Any]]) -> GeneratedPeer:
        servers = [
            IceServer(
                urls=tuple([s["urls"]] if isinstance(s["urls"], str) else s["urls"]),
                username=s.get("username"),
                credential=s.get("credential"),
            )
            for s in ice_servers
        ]
        self.peer = GeneratedPeer(
            ice_servers=servers,
            video=PatternVideoTrack(width=WIDTH, height=HEIGHT, fps=FPS),
            audio=ToneAudioTrack(),
        )
        return self.peer

    async def close(self) -> None:
        if self.peer is not None:
            with contextlib.suppress(Exception):
                await self.peer.close()
        with contextlib.suppress(Exception):
            await self.sio.disconnect()
        with contextlib.suppress(Exception):
            await self.sio.shutdown()


async def measure_call_setup(
    url: str, appointment_id: str, patient_token: str, doctor_token: str
) -> dict[str, float]:
    """One call; returns milliseconds from the patient's join to each step."""
    patient = _Participant(url, patient_token)
    doctor = _Participant(url, doctor_token)
    try:
        await asyncio.gather(patient.connect(), doctor.connect())
        ref = {"appointment_id": appointment_id}
        started = time.perf_counter()

        def ms() -> float:
            return round((time.perf_counter() - started) * 1000, 2)

        joined = await patient.call("consult:join", ref)
        doctor_ack = await doctor.call("consult:join", ref)
        if joined["state"] != "admitted":
            await doctor.call("consult:admit", ref)
            joined = await asyncio.wait_for(patient.admitted, TIMEOUT)
        admitted = ms()
        doctor_peer = doctor.make_peer(doctor_ack["ice_servers"])
        patient_peer = patient.make_peer(joined.get("ice_servers", []))
        offer = await doctor_peer.create_offer()
        await doctor.call("rtc:signal", {**ref, "data": {"type": "offer", "sdp": offer.sdp}})
        offered = ms()
        data = await asyncio.wait_for(patient.signals.get(), TIMEOUT)
        answer = await patient_peer.answer(data["sdp"])
        await patient.call("rtc:signal", {**ref, "data": {"type": "answer", "sdp": answer.sdp}})
        data = await asyncio.wait_for(doctor.signals.get(), TIMEOUT)
        await doctor_peer.accept_answer(data["sdp"])
        answered = ms()
        async with asyncio.timeout(TIMEOUT):
            await asyncio.gather(doctor_peer.wait_connected(), patient_peer.wait_connected())
        return {
            "admitted_ms": admitted,
            "offer_sent_ms": offered,
            "answer_applied_ms": answered,
            "connected_ms": ms(),
        }
    finally:
        await asyncio.gather(patient.close(), doctor.close())
