"""The pre-call check's verdict: from measured network figures to a plain-language answer.

Pure logic, no I/O. ``media/precall.py`` measures; :func:`assess` judges. The verdict is
``good`` (a video consultation will work well), ``poor`` (it will work, with glitches) or
``will_not_work``; ``advice`` is the one code the user should act on first and ``problems``
lists every code found, worst first. Browsers translate the codes (PROTOCOL.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    GOOD = "good"
    POOR = "poor"
    WILL_NOT_WORK = "will_not_work"


class Advice(StrEnum):
    OK = "ok"
    CONNECTION_FAILED = "connection_failed"  # no WebRTC connection (firewall, VPN, proxy)
    NO_OUTGOING_MEDIA = "no_outgoing_media"  # connected, but nothing arrived from the camera/mic
    NO_INCOMING_MEDIA = "no_incoming_media"  # the device never reported receiving our echo
    PACKET_LOSS = "packet_loss"
    LOW_BANDWIDTH = "low_bandwidth"
    HIGH_LATENCY = "high_latency"
    HIGH_JITTER = "high_jitter"


_SEVERITY = {Verdict.GOOD: 0, Verdict.POOR: 1, Verdict.WILL_NOT_WORK: 2}
# Among problems of equal severity, the one to fix first.
_PRIORITY = [
    Advice.CONNECTION_FAILED,
    Advice.NO_OUTGOING_MEDIA,
    Advice.NO_INCOMING_MEDIA,
    Advice.PACKET_LOSS,
    Advice.LOW_BANDWIDTH,
    Advice.HIGH_LATENCY,
    Advice.HIGH_JITTER,
]


@dataclass(frozen=True, slots=True)
class Band:
    """Limits of one figure: up to ``good`` is good, up to ``poor`` is poor, beyond will not
    work (for a figure where more is better, set ``higher_is_better``)."""

    good: float
    poor: float
    higher_is_better: bool = False

    def grade(self, value: float) -> Verdict:
        if self.higher_is_better:
            if value >= self.good:
                return Verdict.GOOD
            return Verdict.POOR if value >= self.poor else Verdict.WILL_NOT_WORK
        if value <= self.good:
            return Verdict.GOOD
        return Verdict.POOR if value <= self.poor else Verdict.WILL_NOT_WORK


@dataclass(frozen=True, slots=True)
class Thresholds:
    # Round trip: ITU-T G.114 puts natural conversation under ~150 ms one way; past ~500 ms
    # one way people talk over each other.
    rtt_ms: Band = Band(good=300, poor=1000)
    # Loss: video concealment copes with a couple of percent; audio (Opus) with ~20 %.
    packet_loss: Band = Band(good=0.02, poor=0.20)
    # Jitter a receiver's buffer absorbs without adding noticeable delay.
    jitter_ms: Band = Band(good=30, poor=150)
    # What the device managed to upload, judged only when it sent video: 640x480 needs a few
    # hundred kbit/s; below ~64 kbit/s there is barely room for the audio.
    upload_kbps: Band = Band(good=250, poor=64, higher_is_better=True)


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True, slots=True)
class Measurement:
    """What the server measured on its side of a check. ``None`` means not (yet) known."""

    rtt_ms: float | None = None
    jitter_ms: float | None = None
    packet_loss: float | None = None
    bitrate_kbps: float | None = None  # received from the device (its upload)
    packets_received: int = 0  # RTP packets that arrived from the device
    video_received: bool = False  # some of them were video
    echo_reported: bool = False  # the device sent receiver reports about our echo


@dataclass(frozen=True, slots=True)
class Assessment:
    verdict: Verdict
    advice: Advice
    problems: tuple[Advice, ...]


def assess(
    measurement: Measurement, *, failed: bool = False, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> Assessment:
    """Judge a finished measurement (``failed``: the connection could not be established or
    broke down)."""
    if failed:
        return _one(Verdict.WILL_NOT_WORK, Advice.CONNECTION_FAILED)
    if measurement.packets_received == 0:
        return _one(Verdict.WILL_NOT_WORK, Advice.NO_OUTGOING_MEDIA)
    found: list[tuple[Verdict, Advice]] = []
    if not measurement.echo_reported:
        found.append((Verdict.WILL_NOT_WORK, Advice.NO_INCOMING_MEDIA))
    m, t = measurement, thresholds
    if m.packet_loss is not None:
        found.append((t.packet_loss.grade(m.packet_loss), Advice.PACKET_LOSS))
    if m.video_received and m.bitrate_kbps is not None:
        found.append((t.upload_kbps.grade(m.bitrate_kbps), Advice.LOW_BANDWIDTH))
    if m.rtt_ms is not None:
        found.append((t.rtt_ms.grade(m.rtt_ms), Advice.HIGH_LATENCY))
    if m.jitter_ms is not None:
        found.append((t.jitter_ms.grade(m.jitter_ms), Advice.HIGH_JITTER))
    problems = sorted(
        (item for item in found if item[0] is not Verdict.GOOD),
        key=lambda item: (-_SEVERITY[item[0]], _PRIORITY.index(item[1])),
    )
    if not problems:
        return _one(Verdict.GOOD, Advice.OK)
    return Assessment(
        verdict=problems[0][0],
        advice=problems[0][1],
        problems=tuple(advice for _, advice in problems),
    )


def _one(verdict: Verdict, advice: Advice) -> Assessment:
    return Assessment(
        verdict=verdict, advice=advice, problems=() if advice is Advice.OK else (advice,)
    )
