"""A client-side aiortc peer that sends generated media and watches what comes back.

Used by ``telemed precall``, the synthetic participant, the tests and the benchmarks: it sends a
:class:`~media.tracks.PatternVideoTrack` and a :class:`~media.tracks.ToneAudioTrack`, gathers
its candidates before offering (aiortc does not trickle), reads every incoming track so nothing
piles up, and records what arrived: frame counts and the markers of the pictures it saw, so a
caller can tell *whose* video it receives (its own echo, or the other participant's).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable

from aiortc import (
    MediaStreamTrack,
    RTCConfiguration,
    RTCIceServer,
    RTCPeerConnection,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

from media.ice import IceServer
from media.tracks import Marker, PatternVideoTrack, ToneAudioTrack, read_marker


class ReceivedMedia:
    """What a peer received so far. Times are ``time.monotonic()`` seconds."""

    def __init__(self) -> None:
        self.video_frames = 0
        self.audio_frames = 0
        self.first_video_at: float | None = None
        self.first_audio_at: float | None = None
        self.markers: Counter[int] = Counter()  # frames seen per signature
        self.first_marker_at: dict[int, float] = {}
        self.recent_markers: deque[Marker] = deque(maxlen=300)
        self.recent_audio: deque[AudioFrame] = deque(maxlen=25)
        self._changed = asyncio.Condition()

    async def wait_for(self, predicate: Callable[[ReceivedMedia], bool]) -> None:
        """Wait until ``predicate(self)`` holds (bound it with ``asyncio.timeout``)."""
        async with self._changed:
            await self._changed.wait_for(lambda: predicate(self))

    async def _video(self, frame: VideoFrame) -> None:
        now = time.monotonic()
        self.video_frames += 1
        if self.first_video_at is None:
            self.first_video_at = now
        marker = read_marker(frame)
        if marker is not None:
            self.markers[marker.signature] += 1
            self.first_marker_at.setdefault(marker.signature, now)
            self.recent_markers.append(marker)
        await self._notify()

    async def _audio(self, frame: AudioFrame) -> None:
        self.audio_frames += 1
        if self.first_audio_at is None:
            self.first_audio_at = time.monotonic()
        self.recent_audio.append(frame)
        await self._notify()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()


class GeneratedPeer:
    """An ``RTCPeerConnection`` with generated video and audio."""

    def __init__(
        self,
        *,
        ice_servers: Iterable[IceServer] = (),
        video: PatternVideoTrack | None = None,
        audio: ToneAudioTrack | None = None,
        send_video: bool = True,
        send_audio: bool = True,
        received: ReceivedMedia | None = None,
    ) -> None:
        """``received`` may be shared by successive peers of one participant (a bot replacing
        its connection keeps counting)."""
        self.pc = RTCPeerConnection(
            RTCConfiguration(
                iceServers=[
                    RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
                    for s in ice_servers
                ]
            )
        )
        self.video = (video or PatternVideoTrack()) if send_video else None
        self.audio = (audio or ToneAudioTrack()) if send_audio else None
        for track in (self.video, self.audio):
            if track is not None:
                self.pc.addTrack(track)
        self.received = received if received is not None else ReceivedMedia()
        self.connected_at: float | None = None
        self._state = asyncio.Event()
        self._readers: list[asyncio.Task[None]] = []
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    @property
    def signature(self) -> int | None:
        """The signature of the video this peer sends."""
        return self.video.signature if self.video else None

    async def create_offer(self) -> RTCSessionDescription:
        """A complete offer: returns once ICE gathering finished."""
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription

    async def accept_answer(self, sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="answer"))

    async def answer(self, offer_sdp: str) -> RTCSessionDescription:
        """Answer a remote offer (complete, as for :meth:`create_offer`)."""
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await self.pc.setLocalDescription(await self.pc.createAnswer())
        return self.pc.localDescription

    async def wait_connected(self) -> None:
        """Wait for the connection (bound it with ``asyncio.timeout``); ``ConnectionError``
        when it fails."""
        while True:
            state = self.pc.connectionState
            if state == "connected":
                return
            if state in ("failed", "closed"):
                raise ConnectionError(f"the connection {state}")
            self._state.clear()
            await self._state.wait()

    async def close(self) -> None:
        await self.pc.close()  # ends the remote tracks, so the readers finish
        for reader in self._readers:
            reader.cancel()
        if self._readers:
            await asyncio.wait(self._readers)
        for track in (self.video, self.audio):
            if track is not None:
                track.stop()

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected" and self.connected_at is None:
            self.connected_at = time.monotonic()
        self._state.set()

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._readers.append(asyncio.create_task(self._read(track)))

    async def _read(self, track: MediaStreamTrack) -> None:
        while True:
            try:
                frame = await track.recv()
            except MediaStreamError:
                return
            if isinstance(frame, VideoFrame):
                await self.received._video(frame)
            elif isinstance(frame, AudioFrame):
                await self.received._audio(frame)
