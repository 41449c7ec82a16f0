"""Generated media: timestamps, pacing, the picture marker (also through a real VP8 codec),
the tone."""

from __future__ import annotations

import fractions
import math

import av
import pytest

from media.tracks import (
    VIDEO_TIME_BASE,
    Marker,
    Pacer,
    PatternVideoTrack,
    ToneAudioTrack,
    dominant_frequency,
    read_marker,
)


class FakeTime:
    """A monotonic clock that only moves when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 9))
        self.now += seconds


async def test_video_frames_are_stamped_and_paced() -> None:
    t = FakeTime()
    track = PatternVideoTrack(
        width=320, height=240, fps=15, pacer=Pacer(1 / 15, now=t, sleep=t.sleep)
    )
    frames = [await track.recv() for _ in range(4)]
    assert [f.pts for f in frames] == [0, 6000, 12000, 18000]  # 90 kHz / 15 fps
    assert all(f.time_base == VIDEO_TIME_BASE for f in frames)
    assert (frames[0].width, frames[0].height, frames[0].format.name) == (320, 240, "yuv420p")
    # The first frame goes at once; each next one waits for its slot on the clock.
    assert t.sleeps == [round(1 / 15, 9)] * 3
    assert track.frames_sent == 4


async def test_a_late_consumer_is_not_made_to_wait() -> None:
    t = FakeTime()
    pacer = Pacer(0.5, now=t, sleep=t.sleep)
    assert await pacer.next() == 0
    t.now += 2.0  # the consumer stalled for four periods
    assert [await pacer.next() for _ in range(4)] == [1, 2, 3, 4]
    assert t.sleeps == []
    assert await pacer.next() == 5
    assert t.sleeps == [0.5]


async def test_default_video_is_640x480() -> None:
    track = PatternVideoTrack()
    frame = await track.recv()
    assert (frame.width, frame.height) == (640, 480)
    assert read_marker(frame) == Marker(signature=track.signature, counter=0)


async def test_the_marker_carries_signature_and_counter() -> None:
    track = PatternVideoTrack(width=320, height=240, signature=0xBEEF)
    frames = [await track.recv() for _ in range(3)]
    assert [read_marker(f) for f in frames] == [Marker(0xBEEF, n) for n in range(3)]
    other = PatternVideoTrack(width=320, height=240)
    assert read_marker(await other.recv()) == Marker(other.signature, 0)


def test_a_picture_without_a_marker_reads_none() -> None:
    grey = av.VideoFrame(width=320, height=240, format="yuv420p")
    for plane in grey.planes:
        plane.update(bytes([128]) * plane.buffer_size)
    assert read_marker(grey) is None
    # A marker whose check row does not match is refused too.
    track = PatternVideoTrack(width=320, height=240, signature=0x1234)
    image = track.draw(5)
    cell = 320 // 16
    image[2 * cell : 3 * cell, 0:cell] = 235 if image[2 * cell + 5, 5] < 128 else 16
    assert read_marker(av.VideoFrame.from_ndarray(image, format="yuv420p")) is None


def test_the_marker_survives_vp8_and_scaling() -> None:
    track = PatternVideoTrack(width=320, height=240, fps=15, signature=0x5A5A)
    encoder = av.CodecContext.create("libvpx", "w")
    encoder.width, encoder.height, encoder.pix_fmt = 320, 240, "yuv420p"
    encoder.bit_rate = 150_000  # a starved link
    encoder.time_base = fractions.Fraction(1, 15)
    decoder = av.CodecContext.create("libvpx", "r")
    decoded = []
    for n in range(20):
        frame = av.VideoFrame.from_ndarray(track.draw(n), format="yuv420p")
        frame.pts = n
        for packet in encoder.encode(frame):
            decoded.extend(decoder.decode(packet))
    for packet in encoder.encode(None):
        decoded.extend(decoder.decode(packet))
    assert len(decoded) == 20
    assert [read_marker(f) for f in decoded] == [Marker(0x5A5A, n) for n in range(20)]
    half = decoded[-1].reformat(width=160, height=120)
    assert read_marker(half) == Marker(0x5A5A, 19)


def test_frames_move() -> None:
    track = PatternVideoTrack(width=320, height=240)
    assert (track.draw(0) != track.draw(1)).sum() > 320 * 240 // 4


async def test_the_tone() -> None:
    t = FakeTime()
    track = ToneAudioTrack(frequency=440, pacer=Pacer(0.02, now=t, sleep=t.sleep))
    frames = [await track.recv() for _ in range(10)]
    assert [f.pts for f in frames] == [960 * n for n in range(10)]
    assert all(f.sample_rate == 48_000 and f.samples == 960 for f in frames)
    assert frames[0].time_base == fractions.Fraction(1, 48_000)
    assert dominant_frequency(frames) == pytest.approx(440, abs=5)
    assert t.sleeps == [0.02] * 9
    # The phase runs on across frames: the step over a boundary is no bigger than within one.
    max_step = 0.25 * 32767 * 2 * math.pi * 440 / 48_000
    a, b = frames[0].to_ndarray()[0], frames[1].to_ndarray()[0]
    assert abs(int(b[0]) - int(a[-1])) <= max_step + 1


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"width": 330}, "multiple of 16"),
        ({"height": 241}, "height even"),
        ({"width": 32}, "at least 64"),
        ({"fps": 7}, "divide 90000"),
        ({"fps": 0}, "between 1 and 60"),
        ({"signature": 0}, "non-zero"),
    ],
)
def test_bad_video_parameters(kwargs: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        PatternVideoTrack(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"frequency": 30_000}, "Nyquist"),
        ({"ptime": 0.0201}, "whole number"),
        ({"amplitude": 0}, "amplitude"),
        ({"amplitude": 2}, "amplitude"),
    ],
)
def test_bad_audio_parameters(kwargs: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ToneAudioTrack(**kwargs)  # type: ignore[arg-type]


async def test_a_stopped_track_ends() -> None:
    from aiortc.mediastreams import MediaStreamError

    track = PatternVideoTrack(width=320, height=240)
    track.stop()
    with pytest.raises(MediaStreamError):
        await track.recv()
