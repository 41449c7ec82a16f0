"""Offer validation and the measurement taken from aiortc statistics (no network)."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest
from aiortc import RTCConfiguration, RTCPeerConnection
from aiortc.stats import (
    RTCInboundRtpStreamStats,
    RTCOutboundRtpStreamStats,
    RTCRemoteInboundRtpStreamStats,
    RTCTransportStats,
)

from domain.errors import InvalidInput
from media.precall import MAX_SDP_BYTES, clock_rates_of, parse_offer, summarize
from media.tracks import PatternVideoTrack, ToneAudioTrack

T = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture
async def offer() -> AsyncIterator[str]:
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    video, audio = PatternVideoTrack(width=320, height=240), ToneAudioTrack()
    pc.addTrack(video)
    pc.addTrack(audio)
    await pc.setLocalDescription(await pc.createOffer())
    yield pc.localDescription.sdp
    await pc.close()
    video.stop()
    audio.stop()


async def test_a_real_offer_parses(offer: str) -> None:
    description = parse_offer(offer)
    assert [m.kind for m in description.media] == ["video", "audio"]
    assert clock_rates_of(description) == {"video": 90_000, "audio": 48_000}


def _without(sdp: str, prefix: str) -> str:
    return "".join(line for line in sdp.splitlines(keepends=True) if not line.startswith(prefix))


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda s: "garbage", "start with v=0"),
        (lambda s: "v=0\r\n", "no audio or video"),
        (lambda s: "v=0\r\nm=audio x", "does not parse"),
        (lambda s: "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111\r\n", "does not parse"),
        (lambda s: _without(s, "a=ice-ufrag"), "ICE credentials"),
        (lambda s: _without(s, "a=fingerprint"), "DTLS fingerprint"),
        (lambda s: _without(s, "a=rtcp-mux"), "rtcp-mux"),
        (lambda s: s.replace("a=sendrecv", "a=sendonly"), "sendrecv"),
        (lambda s: s + "a=x:" + "y" * MAX_SDP_BYTES + "\r\n", "larger than"),
    ],
)
async def test_bad_offers_are_refused(offer: str, mangle: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message) as caught:
        parse_offer(mangle(offer))  # type: ignore[operator]
    assert caught.value.details[0]["field"] == "sdp"


def _remote_inbound(kind: str, **kw: object) -> RTCRemoteInboundRtpStreamStats:
    values: dict[str, object] = {
        "packetsReceived": 100,
        "packetsLost": 0,
        "jitter": 0,
        "roundTripTime": 0.05,
        "fractionLost": 0,
    } | kw
    return RTCRemoteInboundRtpStreamStats(
        timestamp=T,
        type="remote-inbound-rtp",
        id=f"ri-{kind}",
        ssrc=1,
        kind=kind,
        transportId="t",
        **values,  # type: ignore[arg-type]
    )


def _inbound(kind: str, **kw: object) -> RTCInboundRtpStreamStats:
    values: dict[str, object] = {"packetsReceived": 100, "packetsLost": 0, "jitter": 0} | kw
    return RTCInboundRtpStreamStats(
        timestamp=T,
        type="inbound-rtp",
        id=f"in-{kind}",
        ssrc=2,
        kind=kind,
        transportId="t",
        **values,  # type: ignore[arg-type]
    )


RATES = {"video": 90_000, "audio": 48_000}


def test_summary_takes_the_worse_direction() -> None:
    stats = [
        _inbound("video", packetsReceived=90, packetsLost=10, jitter=900),  # 10 % up, 10 ms
        _inbound("audio", packetsReceived=100, packetsLost=0, jitter=480),  # 10 ms
        _remote_inbound(
            "video", packetsReceived=198, packetsLost=2, jitter=2700, roundTripTime=0.08
        ),
        _remote_inbound("audio", roundTripTime=0.12),
        RTCTransportStats(
            timestamp=T,
            type="transport",
            id="t",
            packetsSent=1,
            packetsReceived=1,
            bytesSent=1,
            bytesReceived=1,
            iceRole="controlled",
            dtlsState="connected",
        ),
        RTCOutboundRtpStreamStats(
            timestamp=T,
            type="outbound-rtp",
            id="o",
            ssrc=3,
            kind="video",
            transportId="t",
            packetsSent=1,
            bytesSent=1,
            trackId="x",
        ),
    ]
    m = summarize(stats, RATES, bitrate_kbps=321.0)
    assert m.rtt_ms == pytest.approx(120)  # the slower of the two echoes
    assert m.jitter_ms == pytest.approx(30)  # 2700 ticks at 90 kHz, what the device saw
    # Upstream: 10 of 200 lost; downstream: 2 of 300.
    assert m.packet_loss == pytest.approx(10 / 200)
    assert m.packets_received == 190
    assert m.video_received
    assert m.echo_reported
    assert m.bitrate_kbps == 321.0


def test_summary_before_any_report() -> None:
    m = summarize([_inbound("audio", packetsReceived=1)], RATES, bitrate_kbps=None)
    assert m.rtt_ms is None
    assert m.jitter_ms is None
    assert m.packet_loss == 0.0
    assert not m.video_received
    assert not m.echo_reported
    # A report without a round trip yet (aiortc needs two RTCP exchanges) still counts as echo.
    m = summarize([_remote_inbound("video", roundTripTime=None)], RATES, bitrate_kbps=None)
    assert m.echo_reported
    assert m.rtt_ms is None
    assert m.packets_received == 0


def test_negative_loss_from_duplicates_is_no_loss() -> None:
    m = summarize([_inbound("video", packetsLost=-3)], RATES, bitrate_kbps=None)
    assert m.packet_loss == 0.0
