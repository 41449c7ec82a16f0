"""The pre-call verdict: thresholds, the order of advice, failures."""

from __future__ import annotations

import pytest

from domain.precall import Advice, Band, Measurement, Verdict, assess
from media.precall import measured_enough

HEALTHY = Measurement(
    rtt_ms=40,
    jitter_ms=5,
    packet_loss=0.0,
    bitrate_kbps=600,
    packets_received=500,
    video_received=True,
    echo_reported=True,
)


def with_(**changes: object) -> Measurement:
    from dataclasses import replace

    return replace(HEALTHY, **changes)  # type: ignore[arg-type]


def test_a_healthy_connection_is_good() -> None:
    a = assess(HEALTHY)
    assert (a.verdict, a.advice, a.problems) == (Verdict.GOOD, Advice.OK, ())


@pytest.mark.parametrize(
    ("change", "verdict", "advice"),
    [
        ({"rtt_ms": 300}, Verdict.GOOD, Advice.OK),
        ({"rtt_ms": 301}, Verdict.POOR, Advice.HIGH_LATENCY),
        ({"rtt_ms": 1000}, Verdict.POOR, Advice.HIGH_LATENCY),
        ({"rtt_ms": 1001}, Verdict.WILL_NOT_WORK, Advice.HIGH_LATENCY),
        ({"packet_loss": 0.02}, Verdict.GOOD, Advice.OK),
        ({"packet_loss": 0.021}, Verdict.POOR, Advice.PACKET_LOSS),
        ({"packet_loss": 0.2}, Verdict.POOR, Advice.PACKET_LOSS),
        ({"packet_loss": 0.25}, Verdict.WILL_NOT_WORK, Advice.PACKET_LOSS),
        ({"jitter_ms": 30}, Verdict.GOOD, Advice.OK),
        ({"jitter_ms": 31}, Verdict.POOR, Advice.HIGH_JITTER),
        ({"jitter_ms": 151}, Verdict.WILL_NOT_WORK, Advice.HIGH_JITTER),
        ({"bitrate_kbps": 250}, Verdict.GOOD, Advice.OK),
        ({"bitrate_kbps": 249}, Verdict.POOR, Advice.LOW_BANDWIDTH),
        ({"bitrate_kbps": 64}, Verdict.POOR, Advice.LOW_BANDWIDTH),
        ({"bitrate_kbps": 63}, Verdict.WILL_NOT_WORK, Advice.LOW_BANDWIDTH),
        # Audio only: a low upload is expected and not judged.
        ({"bitrate_kbps": 40, "video_received": False}, Verdict.GOOD, Advice.OK),
        ({"echo_reported": False}, Verdict.WILL_NOT_WORK, Advice.NO_INCOMING_MEDIA),
        ({"packets_received": 0}, Verdict.WILL_NOT_WORK, Advice.NO_OUTGOING_MEDIA),
    ],
)
def test_thresholds(change: dict[str, object], verdict: Verdict, advice: Advice) -> None:
    a = assess(with_(**change))
    assert (a.verdict, a.advice) == (verdict, advice)


def test_unknown_figures_are_not_judged() -> None:
    a = assess(with_(rtt_ms=None, jitter_ms=None, packet_loss=None, bitrate_kbps=None))
    assert a.verdict is Verdict.GOOD


def test_the_worst_problem_is_the_advice_and_all_are_listed() -> None:
    a = assess(with_(rtt_ms=500, jitter_ms=200, packet_loss=0.05))
    assert a.verdict is Verdict.WILL_NOT_WORK
    assert a.advice is Advice.HIGH_JITTER  # the only fatal one
    assert a.problems == (Advice.HIGH_JITTER, Advice.PACKET_LOSS, Advice.HIGH_LATENCY)


def test_equal_severity_follows_priority() -> None:
    a = assess(with_(rtt_ms=500, jitter_ms=50, packet_loss=0.05, bitrate_kbps=100))
    assert a.verdict is Verdict.POOR
    assert a.problems == (
        Advice.PACKET_LOSS,
        Advice.LOW_BANDWIDTH,
        Advice.HIGH_LATENCY,
        Advice.HIGH_JITTER,
    )


def test_a_failed_connection_will_not_work_whatever_was_measured() -> None:
    a = assess(HEALTHY, failed=True)
    assert (a.verdict, a.advice, a.problems) == (
        Verdict.WILL_NOT_WORK,
        Advice.CONNECTION_FAILED,
        (Advice.CONNECTION_FAILED,),
    )


def test_band_direction() -> None:
    lower = Band(good=1, poor=2)
    higher = Band(good=2, poor=1, higher_is_better=True)
    assert [lower.grade(v) for v in (0, 1.5, 3)] == [
        Verdict.GOOD,
        Verdict.POOR,
        Verdict.WILL_NOT_WORK,
    ]
    assert [higher.grade(v) for v in (3, 1.5, 0)] == [
        Verdict.GOOD,
        Verdict.POOR,
        Verdict.WILL_NOT_WORK,
    ]


@pytest.mark.parametrize(
    ("measured", "change", "enough"),
    [
        (5.0, {}, True),
        (4.9, {}, False),  # not long enough
        # One sample of the bytes received so far (a late first sample on a busy machine): no
        # bitrate, no verdict yet, however long the media ran.
        (9.0, {"bitrate_kbps": None}, False),
        (5.0, {"rtt_ms": None}, False),  # waiting for the first round trip
        (10.0, {"rtt_ms": None}, True),  # ... for at most the grace period
    ],
)
def test_a_verdict_waits_for_the_bitrate_and_the_round_trip(
    measured: float, change: dict[str, object], enough: bool
) -> None:
    assert measured_enough(with_(**change), measured, measure_seconds=5.0) is enough
