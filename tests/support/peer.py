"""A participant's browser stand-in for tests: an aiortc ``RTCPeerConnection`` with generated
media, signaling through the hub over a real Socket.IO connection.

It speaks the contract's ``rtc:signal`` events: ``offer``/``answer`` carry the SDP (aiortc
gathers its ICE candidates before describing itself, so the SDP already holds them; trickled
``candidate`` signals from other peers are added too), ``bye`` ends the call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from typing import Any

import av
from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack
from aiortc.sdp import candidate_from_sdp

from tests.support.hub import HubClient


class SmallVideoTrack(VideoStreamTrack):
    """Generated video, small so that encoding costs little CPU: 160x120 frames whose brightness
    changes every frame."""

    def __init__(self) -> None:
        super().__init__()
        self._n = 0

    async def recv(self) -> av.VideoFrame:
        pts, time_base = await self.next_timestamp()
        frame = av.VideoFrame(width=160, height=120, format="yuv420p")
        shade = (self._n * 7) % 256
        for index, plane in enumerate(frame.planes):
            plane.update(bytes([shade if index == 0 else 128]) * plane.buffer_size)
        frame.pts = pts
        frame.time_base = time_base
        self._n += 1
        return frame


class CallPeer:
    def __init__(
        self, hub: HubClient, appointment_id: str, ice_servers: list[dict[str, Any]] | None = None
    ) -> None:
        self.hub = hub
        self.appointment_id = appointment_id
        servers = [RTCIceServer(**server) for server in ice_servers or []]
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=servers))
        self.pc.addTrack(SmallVideoTrack())
        self.pc.addTrack(AudioStreamTrack())
        self.frames: Counter[str] = Counter()
        self.states: list[str] = []
        self.connected = asyncio.Event()
        self.media_flowing = asyncio.Event()
        self._signals: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []
        self.errors: list[BaseException] = []

        @self.pc.on("connectionstatechange")
        def on_state() -> None:
            self.states.append(self.pc.connectionState)
            if self.pc.connectionState == "connected":
                self.connected.set()

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.ensure_future(self._consume(track)))

        hub.on("rtc:signal", lambda data: self._signals.put_nowait(data))
        self._tasks.append(asyncio.ensure_future(self._handle_signals()))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError, asyncio.CancelledError):
            while True:
                await track.recv()
                self.frames[track.kind] += 1
                if self.frames["video"] >= 10 and self.frames["audio"] >= 10:
                    self.media_flowing.set()

    async def _handle_signals(self) -> None:
        while True:
            signal = await self._signals.get()
            data = signal["data"]
            try:
                if data["type"] == "offer":
                    await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "offer"))
                    await self.pc.setLocalDescription(await self.pc.createAnswer())
                    await self.send({"type": "answer", "sdp": self.pc.localDescription.sdp})
                elif data["type"] == "answer":
                    await self.pc.setRemoteDescription(RTCSessionDescription(data["sdp"], "answer"))
                elif data["type"] == "candidate" and isinstance(data.get("candidate"), dict):
                    init = data["candidate"]
                    candidate = candidate_from_sdp(init["candidate"].removeprefix("candidate:"))
                    candidate.sdpMid = init.get("sdpMid")
                    candidate.sdpMLineIndex = init.get("sdpMLineIndex")
                    await self.pc.addIceCandidate(candidate)
                elif data["type"] == "bye":
                    await self.pc.close()
            except Exception as exc:  # recorded, and the test asserts there were none
                self.errors.append(exc)

    async def send(self, data: dict[str, Any]) -> dict[str, Any]:
        ack: dict[str, Any] = await self.hub.call(
            "rtc:signal", {"appointment_id": self.appointment_id, "data": data}
        )
        return ack

    async def call(self) -> dict[str, Any]:
        """Start the call: describe ourselves (candidates included) and send the offer."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return await self.send({"type": "offer", "sdp": self.pc.localDescription.sdp})

    async def close(self) -> None:
        await self.pc.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
