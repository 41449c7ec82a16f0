"""What ``rtc:signal`` accepts as SDP and ICE candidates (signaling/sdp.py): real offers and
answers of a WebRTC stack pass; text that is not SDP or that parsers could split differently
does not."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling import sdp
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


# ----------------------------------------------------------------------------- the fast path


def _pattern_verdict(candidate: str) -> bool:
    """The policy as the pattern states it (``candidate_problem`` reaches the same verdict on
    printable ASCII without running it)."""
    if candidate == "":
        return True
    if len(candidate) > sdp.MAX_CANDIDATE_CHARS:
        return False
    if sdp._CONTROL.search(candidate) or "\r" in candidate or "\n" in candidate:
        return False
    return sdp._CANDIDATE.match(candidate) is not None


_ODD = ["", "\u0663", "\u00e9", "\t", "\x7f", "a b", "-", "1x"]


def _field(valid: list[str], near: list[str]) -> st.SearchStrategy[str]:
    """Mostly a valid value of one candidate field, sometimes a near miss, so that a single
    field often decides the verdict."""
    listed = st.sampled_from(valid * 8 + near + _ODD)
    text = st.text(alphabet=st.characters(max_codepoint=0x700), max_size=4)
    return st.integers(0, 19).flatmap(lambda i: text if i == 0 else listed)


_NEAR_CANDIDATES = st.tuples(
    _field(
        ["candidate:842163049", "candidate:", "1", "a" * 256, "candidate:" + "f" * 256],
        ["a" * 257, "candidate:" + "f" * 257, "candidate:\u00e9"],
    ),
    _field(["1", "12345", "2"], ["123456", "1a", "\u0663", "\u00b2"]),
    _field(["udp", "UDP", "tcp"], ["ud", "udpx", "ud1", "u-p", "\u00e9dp"]),
    _field(["1677729535", "1234567890", "0"], ["12345678901", "1.5", "-1"]),
    _field(["203.0.113.7", "x.local", "a" * 256, "::1"], ["a" * 257, "\u00e9.local"]),
    _field(["61427", "9", "12345"], ["123456", "9x", "\u0669"]),
    _field(["typ"], ["TYP", "ty", "typx"]),
    _field(["host", "srflx", "prflx", "relay"], ["Host", "relays", "hos"]),
    st.lists(_field(["raddr", "192.0.2.9", "rport", "generation", "0"], ["\u00e9"]), max_size=4),
).map(lambda f: " ".join([*f[:8], *f[8]]))


@given(_NEAR_CANDIDATES)
@settings(max_examples=2000, deadline=None)
def test_the_fast_path_agrees_with_the_pattern_on_near_candidates(candidate: str) -> None:
    assert (candidate_problem(candidate) is None) == _pattern_verdict(candidate)


@given(st.text(max_size=300))
@settings(max_examples=500, deadline=None)
def test_the_fast_path_agrees_with_the_pattern_on_any_text(candidate: str) -> None:
    assert (candidate_problem(candidate) is None) == _pattern_verdict(candidate)


def test_the_near_candidates_reach_both_verdicts() -> None:
    """The generator above is not vacuous: it builds accepted and refused candidates."""
    good = "candidate:1 1 udp 2122252543 192.0.2.1 50001 typ host generation 0"
    assert candidate_problem(good) is None
    assert _pattern_verdict(good)
    assert candidate_problem(good.replace("typ", "TYP")) is not None
    assert candidate_problem(good.replace(" 1 udp", " \u0663 udp")) is None  # a Unicode digit
    assert _pattern_verdict(good.replace(" 1 udp", " \u0663 udp"))


_GOOD = ["candidate:1", "1", "udp", "2122252543", "192.0.2.1", "50001", "typ", "host"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (0, "f" * 256),
        (0, "f" * 257),
        (0, "candidate:" + "f" * 256),
        (0, "candidate:" + "f" * 257),
        (0, "candidate:"),
        (1, "12345"),
        (1, "123456"),
        (2, "ud1"),
        (2, "udpx"),
        (3, "1234567890"),
        (3, "12345678901"),
        (4, "a" * 256),
        (4, "a" * 257),
        (5, "12345"),
        (5, "123456"),
        (5, "9x"),
        (6, "TYP"),
        (7, "relays"),
    ],
)
def test_the_fast_path_agrees_with_the_pattern_at_each_field_limit(field: int, value: str) -> None:
    parts = list(_GOOD)
    parts[field] = value
    candidate = " ".join(parts)
    assert (candidate_problem(candidate) is None) == _pattern_verdict(candidate)
    assert (candidate_problem(candidate + " ") is None) == _pattern_verdict(candidate + " ")
