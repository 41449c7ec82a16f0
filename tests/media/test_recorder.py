"""The recorder (``media.recording``) with real aiortc participants answering its offers: one
WebM file with both participants' video and sound that PyAV decodes, each picture still
carrying its sender's marker; the clock that keeps the tracks in step."""

from __future__ import annotations

import asyncio
from collections import Counter
from fractions import Fraction
from pathlib import Path

import av
import pytest

from domain.ids import UserId, new_id
from domain.recording import RecordingTarget
from domain.users import Role
from media.peer import GeneratedPeer
from media.recording import Recorders, Timeline
from media.tracks import read_marker
from tests.support.rtc import small_peer, wait_until

pytestmark = pytest.mark.slow


async def test_both_participants_end_up_in_one_file(tmp_path: Path) -> None:
    doctor = RecordingTarget(UserId("d" * 24), Role.DOCTOR, "sid-d")
    patient = RecordingTarget(UserId("p" * 24), Role.PATIENT, "sid-p")
    senders: dict[str, GeneratedPeer] = {}

    async def offer(target: RecordingTarget, sdp: str) -> str | None:
        peer = small_peer()
        senders[target.role.value] = peer
        answer = await peer.answer(sdp)
        return answer.sdp

    failures: list[str] = []
    recording_id = new_id()
    async with Recorders(tmp_path) as recorders:
        recorders.start(
            recording_id,
            [doctor, patient],
            offer=offer,
            on_failure=lambda rid, message: failures.append(message),
            title="test",
        )
        assert recorders.running == 1
        try:
            await wait_until(lambda: len(senders) == 2)
            await asyncio.gather(*(p.wait_connected() for p in senders.values()))
            # Until both senders have sent a few seconds' worth of frames.
            await wait_until(
                lambda: all(p.video and p.video.frames_sent >= 30 for p in senders.values())
            )
            result = await recorders.stop(recording_id)
        finally:
            await asyncio.gather(*(p.close() for p in senders.values()))
        assert recorders.running == 0
        assert await recorders.stop(recording_id) is None  # stopping twice is harmless

    assert failures == []
    assert result is not None
    assert result.error is None
    assert result.file_name == f"{recording_id}.webm"
    path = tmp_path / result.file_name
    assert result.size_bytes == path.stat().st_size > 0
    assert not (tmp_path / f"{recording_id}.webm.part").exists()
    assert result.duration_seconds > 1
    assert {(t.role, t.kind) for t in result.tracks} == {
        (Role.DOCTOR, "video"),
        (Role.DOCTOR, "audio"),
        (Role.PATIENT, "video"),
        (Role.PATIENT, "audio"),
    }

    with av.open(str(path)) as container:
        kinds = sorted(s.type for s in container.streams)
        assert kinds == ["audio", "audio", "video", "video"]
        titles = sorted(s.metadata.get("title", "") for s in container.streams)
        assert titles == ["doctor audio", "doctor video", "patient audio", "patient video"]
        codecs = {s.type: s.codec_context.name for s in container.streams}
        assert codecs == {"video": "vp8", "audio": "opus"}
    frames: Counter[str] = Counter()
    markers: Counter[int] = Counter()
    with av.open(str(path)) as container:
        for packet in container.demux():
            for frame in packet.decode():
                title = packet.stream.metadata.get("title", "")
                frames[title] += 1
                if packet.stream.type == "video":
                    marker = read_marker(frame)  # type: ignore[arg-type]
                    if marker is not None:
                        markers[marker.signature] += 1
    assert all(frames[t] >= 10 for t in titles), frames
    # Each participant's own picture is in the file (read back from its marker).
    for peer in senders.values():
        assert markers[peer.signature or 0] >= 10, (markers, peer.signature)


async def test_nobody_answering_fails_the_recording(tmp_path: Path) -> None:
    async def decline(target: RecordingTarget, sdp: str) -> str | None:
        return None

    failures: list[str] = []
    recording_id = new_id()
    async with Recorders(tmp_path) as recorders:
        recorders.start(
            recording_id,
            [RecordingTarget(UserId("d" * 24), Role.DOCTOR, "sid-d")],
            offer=decline,
            on_failure=lambda rid, message: failures.append(rid),
            title="test",
        )
        await wait_until(lambda: failures == [recording_id])
        result = await recorders.stop(recording_id)
    assert result is not None
    assert result.error is not None
    assert result.file_name is None
    assert await asyncio.to_thread(lambda: list(tmp_path.iterdir())) == []


def test_the_timeline_follows_the_sender_and_resyncs() -> None:
    video = Fraction(1, 90_000)
    line = Timeline(Fraction(1, 1000))
    # The first frame arrives 2 s into the recording: it is placed there.
    assert line.stamp(0, video, 2.0) == 2000
    # Later frames follow the sender's clock, not arrival jitter.
    assert line.stamp(3000, video, 2.05) == 2033
    assert line.stamp(6000, video, 2.06) == 2067
    # Stamps always increase, even for a frame claiming the same time.
    assert line.stamp(6000, video, 2.07) == 2068
    # The sender's timestamps restart (a new connection): anchored at arrival again.
    assert line.stamp(0, video, 9.0) == 9000
    assert line.stamp(90_000, video, 10.0) == 10_000
    # A frame without timestamps is placed where it arrives.
    assert line.stamp(None, None, 11.5) == 11_500
    assert line.seconds == 11.5
