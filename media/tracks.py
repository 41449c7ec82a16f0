"""Generated media for synthetic participants, the pre-call check and tests.

``PatternVideoTrack`` draws a moving picture (a scrolling gradient and a sliding box, so an
encoder has real work to do) with a machine-readable *marker* in its top band: three rows of
sixteen large black-or-white cells carrying the track's 16-bit signature, a 16-bit frame counter
and their XOR as a check. The cells are big enough to survive lossy encoding, so whoever
receives the video (the echo of a pre-call check, the other participant of a call, a recording)
can tell whose picture it is and which frame it sees with :func:`read_marker`.

``ToneAudioTrack`` plays a continuous sine tone.

Both are paced in real time from a monotonic clock, with presentation timestamps counted in
their own time base (90 kHz for video, the sample rate for audio), as aiortc's senders expect.
"""

from __future__ import annotations

import asyncio
import fractions
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import numpy as np
from aiortc import MediaStreamTrack
from aiortc.mediastreams import MediaStreamError
from av import AudioFrame, VideoFrame

VIDEO_CLOCK_RATE = 90_000
VIDEO_TIME_BASE = fractions.Fraction(1, VIDEO_CLOCK_RATE)

MARKER_COLUMNS = 16
MARKER_ROWS = 3  # signature, counter, signature XOR counter
_BLACK = 16  # video-range luma
_WHITE = 235
_MASK = 0xFFFF

Sleep = Callable[[float], Awaitable[None]]


class Pacer:
    """Releases item ``k`` at ``start + k * period`` on a monotonic clock.

    ``now`` and ``sleep`` are injectable so the pacing can be tested without waiting."""

    def __init__(
        self,
        period: float,
        *,
        now: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        self.period = period
        self._now = now
        self._sleep = sleep
        self._start: float | None = None
        self.index = -1

    async def next(self) -> int:
        """Wait until the next item is due and return its index (0, 1, 2, ...)."""
        self.index += 1
        if self._start is None:
            self._start = self._now()
            return self.index
        wait = self._start + self.index * self.period - self._now()
        if wait > 0:
            await self._sleep(wait)
        return self.index


@dataclass(frozen=True, slots=True)
class Marker:
    signature: int
    counter: int


def new_signature() -> int:
    """A random non-zero 16-bit signature (zero would look like an all-black band)."""
    return secrets.randbelow(_MASK) + 1


class PatternVideoTrack(MediaStreamTrack):
    """A generated camera: ``width`` x ``height`` at ``fps`` frames per second."""

    kind = "video"

    def __init__(
        self,
        *,
        width: int = 640,
        height: int = 480,
        fps: int = 30,
        signature: int | None = None,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__()
        if width % 16 or height % 2 or width < 64 or height < 64:
            raise ValueError("width must be a multiple of 16 and height even, both at least 64")
        if not 1 <= fps <= 60 or VIDEO_CLOCK_RATE % fps:
            raise ValueError("fps must divide 90000 and be between 1 and 60")
        self.width = width
        self.height = height
        self.fps = fps
        self.signature = new_signature() if signature is None else signature
        if not 0 < self.signature <= _MASK:
            raise ValueError("signature must be a non-zero 16-bit number")
        self.frames_sent = 0
        self._pacer = pacer or Pacer(1 / fps)
        self._ticks_per_frame = VIDEO_CLOCK_RATE // fps
        self._cell = width // MARKER_COLUMNS
        y, x = np.mgrid[0:height, 0:width]
        self._diagonal = (x + y).astype(np.int32)
        # A tint per signature, so two generated participants also differ in colour.
        self._u = 64 + (self.signature & 0x7F)
        self._v = 64 + ((self.signature >> 7) & 0x7F)

    async def recv(self) -> VideoFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        frame = VideoFrame.from_ndarray(self.draw(index), format="yuv420p")
        frame.pts = index * self._ticks_per_frame
        frame.time_base = VIDEO_TIME_BASE
        self.frames_sent += 1
        return frame

    def draw(self, index: int) -> np.ndarray:
        """Frame ``index`` as a planar YUV 4:2:0 array (``height * 3 / 2`` rows)."""
        w, h = self.width, self.height
        luma = ((self._diagonal + 4 * index) % 200 + 28).astype(np.uint8)
        # A box sliding left to right below the marker band.
        box = max(8, h // 6)
        top = min(h - box, MARKER_ROWS * self._cell + box // 2)
        left = (index * 6) % max(1, w - box)
        luma[top : top + box, left : left + box] = _WHITE
        counter = index & _MASK
        rows = (self.signature, counter, self.signature ^ counter)
        for row, value in enumerate(rows):
            for col in range(MARKER_COLUMNS):
                bit = (value >> (MARKER_COLUMNS - 1 - col)) & 1
                y0, x0 = row * self._cell, col * self._cell
                luma[y0 : y0 + self._cell, x0 : x0 + self._cell] = _WHITE if bit else _BLACK
        chroma_h = h // 2
        u = np.full((chroma_h, w // 2), self._u, dtype=np.uint8)
        v = np.full((chroma_h, w // 2), self._v, dtype=np.uint8)
        band = (MARKER_ROWS * self._cell) // 2
        u[:band] = 128
        v[:band] = 128
        # yuv420p as one array: the Y plane, then U and V each folded into rows of width w.
        return np.concatenate([luma, u.reshape(-1, w), v.reshape(-1, w)])


def read_marker(frame: VideoFrame) -> Marker | None:
    """The marker a :class:`PatternVideoTrack` drew into ``frame`` (after any encoding and
    scaling that keeps the aspect of the band), or ``None`` when it carries none."""
    luma = frame.reformat(format="gray").to_ndarray()
    height, width = luma.shape
    cell = width // MARKER_COLUMNS
    if cell < 4 or MARKER_ROWS * cell > height:
        return None
    values = []
    for row in range(MARKER_ROWS):
        value = 0
        for col in range(MARKER_COLUMNS):
            y0, x0 = row * cell + cell // 4, col * cell + cell // 4
            patch = luma[y0 : y0 + cell // 2, x0 : x0 + cell // 2]
            mean = float(patch.mean())
            if _BLACK + 40 < mean < _WHITE - 40:
                return None  # neither black nor white: not a marker cell
            value = (value << 1) | (mean > (_BLACK + _WHITE) / 2)
        values.append(value)
    signature, counter, check = values
    if signature == 0 or signature ^ counter != check:
        return None
    return Marker(signature=signature, counter=counter)


class ToneAudioTrack(MediaStreamTrack):
    """A generated microphone: a sine tone, mono 16-bit, in ``ptime`` chunks."""

    kind = "audio"

    def __init__(
        self,
        *,
        frequency: float = 440.0,
        sample_rate: int = 48_000,
        ptime: float = 0.020,
        amplitude: float = 0.25,
        pacer: Pacer | None = None,
    ) -> None:
        super().__init__()
        samples = sample_rate * ptime
        if not samples.is_integer() or samples <= 0:
            raise ValueError("ptime must be a whole number of samples")
        if not 0 < frequency < sample_rate / 2:
            raise ValueError("frequency must be below the Nyquist frequency")
        if not 0 < amplitude <= 1:
            raise ValueError("amplitude must be in (0, 1]")
        self.frequency = frequency
        self.sample_rate = sample_rate
        self.samples = int(samples)
        self.amplitude = amplitude
        self._pacer = pacer or Pacer(ptime)
        self._time_base = fractions.Fraction(1, sample_rate)

    async def recv(self) -> AudioFrame:
        if self.readyState != "live":
            raise MediaStreamError
        index = await self._pacer.next()
        start = index * self.samples
        t = (start + np.arange(self.samples)) / self.sample_rate
        wave = self.amplitude * 32767 * np.sin(2 * math.pi * self.frequency * t)
        frame = AudioFrame.from_ndarray(
            wave.astype(np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = self.sample_rate
        frame.pts = start
        frame.time_base = self._time_base
        return frame


def dominant_frequency(frames: Sequence[AudioFrame]) -> float:
    """The strongest frequency, in hertz, in consecutive audio frames (first channel).

    Pass a few frames: the resolution is the sample rate over the number of samples."""
    if not frames:
        raise ValueError("no frames")
    chunks = []
    for frame in frames:
        samples = frame.to_ndarray().astype(np.float64)
        if frame.format.is_planar:
            chunks.append(samples[0])
        else:
            chunks.append(samples.reshape(-1)[:: len(frame.layout.channels)])
    mono = np.concatenate(chunks)
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(mono.size)))
    spectrum[0] = 0.0
    return float(np.argmax(spectrum)) * frames[0].sample_rate / mono.size
