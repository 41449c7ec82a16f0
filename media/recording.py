"""The hidden recorder: a server-side aiortc participant that records a consultation.

When a recording starts (both participants consented, ``domain.recording``), the recorder opens
one receive-only ``RTCPeerConnection`` per participant and offers it to that participant
(``offer``: the hub sends ``recording:offer`` to the socket holding the seat and the browser
answers in the ack); each browser answers on that extra connection with its camera and
microphone. The call itself stays peer to peer; the recorder holds no seat, so it is never
listed as a participant.

Everything received goes into ONE WebM file per recording: VP8 video and Opus audio, one
stream per participant and kind, named after the role ("doctor video", "patient audio").
Both are royalty-free and permissively licensed, and browsers play the file as it is.

The file is written with PyAV (the library aiortc itself is built on), not with aiortc's
``MediaRecorder``, because a recording of two independent senders needs what ``MediaRecorder``
does not do: every track is put on one clock (:class:`Timeline`: anchored where its first frame
arrived, then following the sender's own timestamps), so the participants stay in step even
though each connection's timestamps start at zero whenever it happens to start; the VP8 encoder
runs in real-time mode at a set bitrate; encoding and muxing run on a worker thread of their
own, never on the event loop that serves the hub; and a failed write fails the recording
visibly instead of silently ending one track. A video stream takes the size of its first frame
(later frames are scaled to it).

Lifecycle, the invariant being "every peer is closed and every file finalised": stopping
cancels the readers, closes the connections, flushes the encoders and closes the container,
then renames ``{id}.webm.part`` to ``{id}.webm`` (an interrupted process leaves only ``.part``
files, never served). :meth:`Recorders.close_all` stops every recorder at shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import structlog
from aiortc import RTCConfiguration, RTCIceServer, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack
from av import AudioFrame, VideoFrame

from domain.errors import Unavailable
from domain.recording import RecordedTrack, RecordingResult, RecordingTarget
from media.ice import IceServer

log = structlog.get_logger("telemed.recording")

# Sends the recorder's offer to a participant and returns their answer's SDP (None: declined).
OfferSender = Callable[[RecordingTarget, str], Awaitable[str | None]]
# Told when a recording cannot go on (nobody sent media, the file cannot be written).
FailureListener = Callable[[str, str], None]

VIDEO_TIME_BASE = Fraction(1, 1000)  # WebM counts milliseconds
AUDIO_RATE = 48_000
AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE)
DEFAULT_SIZE = (640, 480)  # for a video stream that never delivered a frame
MAX_ANSWER_BYTES = 64 * 1024
MAX_FAILING_WRITES = 50
KINDS = ("video", "audio")


@dataclass(frozen=True, slots=True)
class RecorderLimits:
    max_concurrent: int = 4  # recordings this process runs at once (each encodes video)
    answer_timeout: float = 15.0  # for a participant to answer the recorder's offer
    open_timeout: float = 5.0  # for every video track's first frame, which sets its size
    video_bitrate: int = 600_000
    max_pending_frames: int = 90  # frames waiting for the encoder; more and video is dropped

    def __post_init__(self) -> None:
        if self.max_concurrent < 1:
            raise ValueError("max_concurrent must be at least 1")


# ----------------------------------------------------------------------------- the clock


class Timeline:
    """Output timestamps of one track on the recording's clock.

    The first frame is placed at its arrival time; later frames follow the sender's own
    timestamps (smooth, unlike arrival times), unless those drift from the arrival times by
    more than ``resync`` seconds (a new connection restarted them, or the sender stalled):
    then the track is anchored again at the arrival time. Stamps always increase."""

    def __init__(self, time_base: Fraction, *, resync: float = 1.0) -> None:
        self.time_base = time_base
        self._resync = resync
        self._anchor_pts: int | None = None
        self._anchor_source: Fraction | None = None
        self._anchor_at = 0.0
        self.last: int | None = None

    def stamp(self, pts: int | None, source: Fraction | None, at: float) -> int:
        """The output timestamp of a frame with ``pts`` in ``source`` time base, arrived
        ``at`` seconds after the recording started."""
        seconds = at
        if pts is not None and source is not None:
            if self._anchor_pts is None or self._anchor_source != source:
                self._anchor_pts, self._anchor_source, self._anchor_at = pts, source, at
            seconds = self._anchor_at + float((pts - self._anchor_pts) * source)
            if abs(seconds - at) > self._resync:
                self._anchor_pts, self._anchor_at = pts, at
                seconds = at
        stamp = max(0, round(seconds / self.time_base))
        if self.last is not None and stamp <= self.last:
            stamp = self.last + 1
        self.last = stamp
        return stamp

    @property
    def seconds(self) -> float:
        return 0.0 if self.last is None else float(self.last * self.time_base)


# ----------------------------------------------------------------------------- the file


@dataclass(slots=True)
class StreamSpec:
    kind: str  # "video" | "audio"
    title: str
    width: int = 0
    height: int = 0


class RecordingFile:
    """One WebM container, encoded and muxed on a worker thread of its own (so PyAV objects
    are only ever touched by that thread, in the order writes were submitted)."""

    def __init__(self, path: Path, *, video_bitrate: int) -> None:
        self.path = path
        self._bitrate = video_bitrate
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="recording")
        self._container: Any = None
        self._streams: list[Any] = []
        self.pending = 0
        self.frames_written = 0
        self.frames_failed = 0
        self._failing = 0  # failed writes in a row
        self.error: str | None = None  # set when the file itself cannot be written

    @property
    def opened(self) -> bool:
        return self._container is not None

    async def open(self, specs: Sequence[StreamSpec], *, title: str) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._open, list(specs), title)

    def submit(self, index: int, frame: AudioFrame | VideoFrame) -> None:
        """Queue a frame (stamped already) for encoding; never blocks."""
        self.pending += 1
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, self._write, index, frame)
        future.add_done_callback(self._written)  # on the event loop

    async def close(self) -> None:
        """Flush the encoders and close the container (after every queued frame)."""
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._close)
        finally:
            self._executor.shutdown(wait=False)

    # ---------------------------------------------------------------- worker thread

    def _open(self, specs: list[StreamSpec], title: str) -> None:
        container = av.open(str(self.path), mode="w", format="webm")
        container.metadata["title"] = title
        for spec in specs:
            stream: Any
            if spec.kind == "video":
                stream = container.add_stream(
                    "libvpx", rate=30, options={"deadline": "realtime", "cpu-used": "16"}
                )
                stream.width = spec.width or DEFAULT_SIZE[0]
                stream.height = spec.height or DEFAULT_SIZE[1]
                stream.pix_fmt = "yuv420p"
                stream.bit_rate = self._bitrate
                stream.codec_context.time_base = VIDEO_TIME_BASE
            else:
                stream = container.add_stream("libopus", rate=AUDIO_RATE)
            stream.metadata["title"] = spec.title
            self._streams.append(stream)
        self._container = container

    def _write(self, index: int, frame: AudioFrame | VideoFrame) -> None:
        container = self._container
        if container is None:
            return
        for packet in self._streams[index].encode(frame):
            container.mux(packet)

    def _written(self, future: asyncio.Future[None]) -> None:
        self.pending -= 1
        exc = None if future.cancelled() else future.exception()
        if exc is None:
            self.frames_written += 1
            self._failing = 0
            return
        # A frame the encoder or muxer refused is skipped; a file that refuses every frame
        # (a full disk, a closed descriptor) is broken.
        self.frames_failed += 1
        self._failing += 1
        if self._failing >= MAX_FAILING_WRITES and self.error is None:
            self.error = f"cannot write the recording: {exc!r}"

    def _close(self) -> None:
        container = self._container
        if container is None:
            return
        try:
            for stream in self._streams:
                with contextlib.suppress(av.FFmpegError):
                    for packet in stream.encode(None):
                        container.mux(packet)
        finally:
            container.close()
            self._container = None


# ----------------------------------------------------------------------------- one recording


class _Leg:
    """The recorder's connection with one participant: receive only, audio and video."""

    def __init__(self, target: RecordingTarget, ice: list[RTCIceServer]) -> None:
        self.target = target
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=ice))
        for kind in KINDS:
            self.pc.addTransceiver(kind, direction="recvonly")
        self.tracks: dict[str, MediaStreamTrack] = {}
        self.pc.on("track", self._on_track)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind in KINDS:
            self.tracks.setdefault(track.kind, track)

    async def negotiate(self, offer: OfferSender, answer_within: float) -> bool:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        try:
            async with asyncio.timeout(answer_within):
                answer = await offer(self.target, self.pc.localDescription.sdp)
        except TimeoutError:
            log.info("recorder_offer_unanswered", role=self.target.role.value)
            return False
        if not isinstance(answer, str) or not 0 < len(answer.encode()) <= MAX_ANSWER_BYTES:
            return False
        try:
            await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        except Exception as exc:  # an answer from outside: anything wrong with it is a refusal
            log.info("recorder_answer_refused", role=self.target.role.value, error=repr(exc))
            return False
        return True

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self.pc.close()


@dataclass(slots=True)
class _Track:
    index: int
    target: RecordingTarget
    kind: str
    track: MediaStreamTrack
    spec: StreamSpec
    timeline: Timeline
    sized: asyncio.Event = field(default_factory=asyncio.Event)


class Recorder:
    """One recording: connections to its participants, and its file."""

    def __init__(
        self,
        recording_id: str,
        targets: Sequence[RecordingTarget],
        *,
        directory: Path,
        offer: OfferSender,
        ice: list[RTCIceServer],
        limits: RecorderLimits,
        on_failure: FailureListener,
        title: str,
    ) -> None:
        self.id = recording_id
        self._targets = list(targets)
        self._directory = directory
        self._offer = offer
        self._ice = ice
        self._limits = limits
        self._on_failure = on_failure
        self._title = title
        self._legs: list[_Leg] = []
        self._tracks: list[_Track] = []
        self._pumps: list[asyncio.Task[None]] = []
        self._task: asyncio.Task[None] | None = None
        self._opened = asyncio.Event()
        self._origin = 0.0
        self._file = RecordingFile(self.part_path, video_bitrate=limits.video_bitrate)
        self.frames_dropped = 0
        self.error: str | None = None

    @property
    def file_name(self) -> str:
        return f"{self.id}.webm"

    @property
    def part_path(self) -> Path:
        return self._directory / f"{self.file_name}.part"

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"recorder-{self.id}")

    async def _run(self) -> None:
        try:
            self._legs = [_Leg(t, self._ice) for t in self._targets]
            answered = await asyncio.gather(
                *(leg.negotiate(self._offer, self._limits.answer_timeout) for leg in self._legs),
                return_exceptions=True,
            )
            for leg, ok in zip(self._legs, answered, strict=True):
                if ok is not True:
                    if isinstance(ok, BaseException):
                        log.warning("recorder_leg_failed", error=repr(ok))
                    continue
                for kind in KINDS:
                    track = leg.tracks.get(kind)
                    if track is not None:
                        self._add_track(leg.target, kind, track)
            if not self._tracks:
                self._fail("no participant sent media to the recorder")
                return
            video = [t.sized.wait() for t in self._tracks if t.kind == "video"]
            if video:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._limits.open_timeout):
                        await asyncio.gather(*video)
            await self._open()
            log.info("recording_writing", recording_id=self.id, tracks=len(self._tracks))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("recorder_failed", recording_id=self.id)
            self._fail(f"the recorder failed: {exc!r}")

    def _add_track(self, target: RecordingTarget, kind: str, track: MediaStreamTrack) -> None:
        entry = _Track(
            index=len(self._tracks),
            target=target,
            kind=kind,
            track=track,
            spec=StreamSpec(kind=kind, title=f"{target.role.value} {kind}"),
            timeline=Timeline(VIDEO_TIME_BASE if kind == "video" else AUDIO_TIME_BASE),
        )
        self._tracks.append(entry)
        self._pumps.append(asyncio.create_task(self._pump(entry)))

    async def _open(self) -> None:
        await asyncio.to_thread(self._directory.mkdir, parents=True, exist_ok=True)
        await self._file.open([t.spec for t in self._tracks], title=self._title)
        self._origin = asyncio.get_running_loop().time()
        self._opened.set()

    async def _pump(self, entry: _Track) -> None:
        loop = asyncio.get_running_loop()
        limit = self._limits.max_pending_frames
        while True:
            try:
                frame = await entry.track.recv()
            except MediaStreamError:
                return
            if not isinstance(frame, AudioFrame | VideoFrame):
                continue
            if not self._opened.is_set():
                if isinstance(frame, VideoFrame) and not entry.sized.is_set():
                    entry.spec.width, entry.spec.height = frame.width, frame.height
                    entry.sized.set()
                continue  # the file is not open yet
            if isinstance(frame, VideoFrame) and self._file.pending > limit:
                self.frames_dropped += 1  # the encoder is behind: drop video, keep sound
                continue
            frame.pts = entry.timeline.stamp(frame.pts, frame.time_base, loop.time() - self._origin)
            frame.time_base = entry.timeline.time_base
            self._file.submit(entry.index, frame)
            if self._file.error is not None:
                self._fail(self._file.error)
                return

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
            log.warning("recording_failed", recording_id=self.id, error=message)
            self._on_failure(self.id, message)

    def _publish_file(self) -> int | None:
        """The finished ``.part`` file gets its final name; its size (``None``: no file)."""
        if not self.part_path.exists():
            return None
        final = self._directory / self.file_name
        os.replace(self.part_path, final)
        return final.stat().st_size

    async def stop(self) -> RecordingResult:
        """Stop receiving, close the connections, finalise the file."""
        tasks = [t for t in (self._task, *self._pumps) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.gather(*(leg.close() for leg in self._legs))
        duration = 0.0
        if self._tracks and not self._file.opened and self.error is None:
            with contextlib.suppress(Exception):
                await self._open()  # stopped before it opened: still leave a valid file
        if self._file.opened:
            duration = round(asyncio.get_running_loop().time() - self._origin, 3)
        try:
            await self._file.close()
        except Exception as exc:
            log.exception("recording_close_failed", recording_id=self.id)
            self.error = self.error or f"the file could not be finalised: {exc!r}"
        self.error = self.error or self._file.error
        size = await asyncio.to_thread(self._publish_file)
        file_name = self.file_name if size is not None else None
        tracks = tuple(
            RecordedTrack(user_id=t.target.user_id, role=t.target.role, kind=t.kind)
            for t in self._tracks
        )
        log.info(
            "recording_finalised",
            recording_id=self.id,
            size_bytes=size,
            duration_seconds=duration,
            frames=self._file.frames_written,
            dropped=self.frames_dropped,
            failed_frames=self._file.frames_failed,
        )
        return RecordingResult(
            file_name=file_name,
            size_bytes=size or 0,
            duration_seconds=duration,
            tracks=tracks,
            error=self.error,
        )


# ----------------------------------------------------------------------------- all of them


class Recorders:
    """Every recorder of this process (``app[keys.RECORDERS]``)."""

    def __init__(
        self,
        directory: Path,
        *,
        limits: RecorderLimits | None = None,
        server_ice: Iterable[IceServer] = (),
    ) -> None:
        self.directory = directory
        self.limits = limits or RecorderLimits()
        self._ice = [
            RTCIceServer(urls=list(s.urls), username=s.username, credential=s.credential)
            for s in server_ice
        ]
        self._running: dict[str, Recorder] = {}
        self._closing = False

    async def __aenter__(self) -> Recorders:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close_all()

    @property
    def running(self) -> int:
        return len(self._running)

    def is_running(self, recording_id: str) -> bool:
        return recording_id in self._running

    def start(
        self,
        recording_id: str,
        targets: Sequence[RecordingTarget],
        *,
        offer: OfferSender,
        on_failure: FailureListener,
        title: str,
    ) -> None:
        """Start recording (in the background: it offers to the participants, who answer
        through the hub). ``Unavailable`` when this process records too many already."""
        if self._closing:
            raise Unavailable("the server is shutting down")
        if len(self._running) >= self.limits.max_concurrent:
            raise Unavailable("too many consultations are being recorded; try again later")
        recorder = Recorder(
            recording_id,
            targets,
            directory=self.directory,
            offer=offer,
            ice=self._ice,
            limits=self.limits,
            on_failure=on_failure,
            title=title,
        )
        self._running[recording_id] = recorder
        recorder.start()
        log.info("recording_started", recording_id=recording_id, participants=len(targets))

    async def stop(self, recording_id: str) -> RecordingResult | None:
        """Stop and finalise; ``None`` when this process does not run that recording."""
        recorder = self._running.pop(recording_id, None)
        if recorder is None:
            return None
        return await recorder.stop()

    async def close_all(self) -> dict[str, RecordingResult]:
        """Stop every recorder (at shutdown); no new ones from now on."""
        self._closing = True
        ids = list(self._running)
        results = await asyncio.gather(*(self.stop(i) for i in ids))
        return {i: r for i, r in zip(ids, results, strict=True) if r is not None}
