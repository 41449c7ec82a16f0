"""What ``rtc:signal`` accepts as SDP and ICE candidates (signaling/sdp.py): real offers and
answers of a WebRTC stack pass; text that is not SDP or that parsers could split differently
does not."""

from __future__ import annotations

import pytest

from signaling.sdp import MAX_MEDIA_SECTIONS, candidate_problem, sdp_problem
from tests.support.rtc import small_peer


async def test_real_offers_and_answers_pass() -> None:
    caller, callee = small_peer(), small_peer()
    try:
        offer = await caller.create_offer()
        answer = await callee.answer(offer.sdp)
        assert sdp_problem(offer.sdp) is None
        assert sdp_problem(answer.sdp) is None
        candidates = [
            line.removeprefix("a=") for line in offer.sdp.splitlines() if line.startswith("a=cand")
        ]
        assert candidates
        assert all(candidate_problem(c) is None for c in candidates)
    finally:
        await caller.close()
        await callee.close()


BROWSER_CANDIDATES = [
    "candidate:842163049 1 udp 1677729535 203.0.113.4 46154 typ srflx raddr 0.0.0.0 rport 0 "
    "generation 0 ufrag sEMT network-cost 999",
    "candidate:1 1 UDP 2122252543 7b7b2b2c-4c29-4c43-a0b4-2d0b0f1e3a11.local 50001 typ host",
    "candidate:3 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active",
    "candidate:4 1 udp 41885439 198.51.100.2 3478 typ relay raddr 203.0.113.4 rport 46154",
    "",  # end of candidates
]


@pytest.mark.parametrize("candidate", BROWSER_CANDIDATES)
def test_browser_candidates_pass(candidate: str) -> None:
    assert candidate_problem(candidate) is None


@pytest.mark.parametrize(
    "sdp",
    [
        "",
        " v=0",
        "v=0\n",
        "v=0\r\r\n",
        "v=0\r\na=x\r\n\r\n",  # an empty line
        "v=0\r\na=\x07\r\n",
        "v=0\r\na=\x85\r\n",  # C1 control (NEL)
        "v=0\r\ny=unknown type\r\n",
        "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF\r\n",  # no format
        "v=0\r\n" + "m=video 9 UDP/TLS/RTP/SAVPF 96\r\n" * (MAX_MEDIA_SECTIONS + 1),
        "v=0\r\na=" + "x" * 5000 + "\r\n",
    ],
)
def test_refused_sdp(sdp: str) -> None:
    assert sdp_problem(sdp) is not None


def test_accepted_minimal_sdp() -> None:
    assert sdp_problem("v=0") is None
    assert sdp_problem("v=0\r\n") is None
    assert sdp_problem("v=0\r\na=tab\tinside\r\n") is None
    media = "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n" * MAX_MEDIA_SECTIONS
    assert sdp_problem("v=0\r\n" + media) is None


@pytest.mark.parametrize(
    "candidate",
    [
        "hello",
        "candidate:1 1 udp 1 10.0.0.1 9 typ host\r\n",
        "candidate:1 1 udp 1 10.0.0.1 9 typ host\na=x",
        "candidate:1 1 udp 1 10.0.0.1 9 typ nonsense",
        "candidate:1 1 udp 1 10.0.0.1 9 typ host " + "x" * 2000,
    ],
)
def test_refused_candidates(candidate: str) -> None:
    assert candidate_problem(candidate) is not None
