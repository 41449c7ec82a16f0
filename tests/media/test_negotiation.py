"""Perfect negotiation between two real aiortc peers, wired directly (no hub): offers that cross
(glare), a restart, a hang-up, and signals that make no sense."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from media.negotiation import Negotiator
from media.peer import GeneratedPeer, ReceivedMedia
from media.tracks import PatternVideoTrack
from tests.support.rtc import PATIENCE, TEST_FPS, TEST_HEIGHT, TEST_WIDTH, small_peer, wait_until


class Side:
    """One participant: a negotiator whose signals reach the other side through a queue (as
    through the hub: delivered in order, handled one at a time)."""

    def __init__(self, *, polite: bool) -> None:
        self.received = ReceivedMedia()
        self.signature: int | None = None
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.other: Side | None = None
        self.sent: list[str] = []
        self.refused: set[str] = set()  # types of signal the hub refuses to deliver
        self.negotiator = Negotiator(polite=polite, make_peer=self._peer, send=self._send)
        self._pump = asyncio.create_task(self._run())

    def _peer(self) -> GeneratedPeer:
        video = PatternVideoTrack(
            width=TEST_WIDTH, height=TEST_HEIGHT, fps=TEST_FPS, signature=self.signature
        )
        self.signature = video.signature
        return small_peer(video=video, received=self.received)

    async def _send(self, data: dict[str, Any]) -> bool:
        self.sent.append(data["type"])
        if data["type"] in self.refused:
            return False
        assert self.other is not None
        self.other.inbox.put_nowait(data)
        return True

    async def _run(self) -> None:
        while True:
            await self.negotiator.handle(await self.inbox.get())

    async def sees(self, other: Side, frames: int) -> None:
        async with asyncio.timeout(PATIENCE):
            await self.received.wait_for(
                lambda got: got.markers[other.signature or 0] >= frames and got.audio_frames > 0
            )

    async def close(self) -> None:
        self._pump.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._pump
        await self.negotiator.close()


@pytest.fixture
async def pair() -> AsyncIterator[tuple[Side, Side]]:
    doctor, patient = Side(polite=False), Side(polite=True)
    doctor.other, patient.other = patient, doctor
    yield doctor, patient
    await asyncio.gather(doctor.close(), patient.close())


async def test_offers_that_cross_end_in_one_call(pair: tuple[Side, Side]) -> None:
    doctor, patient = pair
    # Both offer before either has seen the other's offer: glare.
    assert await asyncio.gather(doctor.negotiator.offer(), patient.negotiator.offer()) == [
        True,
        True,
    ]
    await asyncio.gather(doctor.sees(patient, 5), patient.sees(doctor, 5))

    # Each saw the other's offer collide with its own; the impolite doctor ignored the
    # patient's, the polite patient gave way and answered the doctor's.
    assert doctor.negotiator.collisions == patient.negotiator.collisions == 1
    assert doctor.sent == ["offer"]
    assert patient.sent == ["offer", "answer"]
    assert doctor.negotiator.peer is not None
    assert patient.negotiator.peer is not None
    assert doctor.negotiator.peer.pc.connectionState == "connected"
    assert patient.negotiator.peer.pc.connectionState == "connected"
    assert doctor.negotiator.errors == patient.negotiator.errors == []


async def test_a_restart_builds_a_new_connection_and_bye_ends_it(pair: tuple[Side, Side]) -> None:
    doctor, patient = pair
    assert await patient.negotiator.offer() is True  # the polite side may offer first too
    await asyncio.gather(doctor.sees(patient, 3), patient.sees(doctor, 3))
    first = doctor.negotiator.peer

    # The patient asks to start over: the doctor (impolite) makes the new offer.
    await patient.negotiator.restart()
    await wait_until(lambda: doctor.negotiator.peer is not first and not doctor.negotiator.idle)
    before = doctor.received.markers[patient.signature or 0]
    await doctor.sees(patient, before + 5)  # new media on the new connection
    assert first is not None
    assert first.pc.connectionState == "closed"
    assert doctor.sent[-1] == "offer"
    assert doctor.negotiator.restarts == patient.negotiator.restarts == 1

    sent, _ = await doctor.negotiator.packet_counts()
    assert sent["video"] > 0
    assert sent["audio"] > 0
    assert doctor.negotiator.video_frames_sent > 0

    await patient.negotiator.hang_up()
    await wait_until(lambda: doctor.negotiator.peer is None)
    assert patient.negotiator.peer is None
    # What the closed connections sent is still counted.
    sent_after, _ = await doctor.negotiator.packet_counts()
    assert sent_after["video"] >= sent["video"]


async def test_a_lost_answer_is_followed_by_a_restart(pair: tuple[Side, Side]) -> None:
    """The patient's answer does not reach the doctor (the hub had lost the patient's seat):
    the doctor's offer would wait for it for ever, so the patient drops the connection and
    starts over once it can, and the doctor's new offer makes the call."""
    doctor, patient = pair
    patient.refused.add("answer")
    assert await doctor.negotiator.offer() is True
    await wait_until(lambda: patient.sent == ["answer"] and patient.negotiator.unanswered)
    assert patient.negotiator.peer is None
    assert doctor.negotiator.peer is not None
    assert doctor.negotiator.peer.pc.signalingState == "have-local-offer"  # waiting in vain

    patient.refused.clear()
    assert await patient.negotiator.restart() is True
    assert patient.negotiator.unanswered is False
    await asyncio.gather(doctor.sees(patient, 5), patient.sees(doctor, 5))
    assert doctor.sent == ["offer", "offer"]
    assert patient.sent == ["answer", "restart", "answer"]
    assert doctor.negotiator.peer is not None
    assert doctor.negotiator.peer.pc.connectionState == "connected"


async def test_signals_that_make_no_sense_change_nothing(pair: tuple[Side, Side]) -> None:
    doctor, _patient = pair
    negotiator = doctor.negotiator
    for data in (
        None,
        "offer",
        {"type": "offer", "sdp": "v=0\r\nthis is not a session description"},
        {"type": "offer"},
        {"type": "dance"},
        {"type": "candidate", "candidate": 42},
    ):
        await negotiator.handle(data)
    assert len(negotiator.errors) == 5
    # An answer nobody asked for, and a candidate before any call, are simply dropped.
    await negotiator.handle({"type": "answer", "sdp": "v=0\r\n"})
    await negotiator.handle({"type": "candidate", "candidate": {"candidate": "candidate:1"}})
    assert len(negotiator.errors) == 5
    assert doctor.sent == []

    # And a real call still works afterwards.
    assert await negotiator.offer() is True
    peer = negotiator.peer
    assert peer is not None
    async with asyncio.timeout(PATIENCE):
        await peer.wait_connected()
