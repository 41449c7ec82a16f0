"""``screen_signal_text`` lets the hub relay a browser's candidate as the text it came in. That
is only sound if it never takes a text whose payload the model refuses, and if what it relays
is, as values, the payload's ``data``: both are checked here against the decoded path (orjson,
``signal_accepted``, ``SignalIn``) on browsers' shapes, on every field of one changed once and
twice, and on texts mutated character by character."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signaling.models import signal_accepted
from signaling.signal_text import decoded, screen_signal_text
from tests.support.signals import CANDIDATE, browser_candidate
from tests.unit.test_signal_fast_check import BASE, CHANGES, changed, model_accepts

APPOINTMENT = "0123456789abcdef01234567"


def text_of(payload: Any, event: str = "rtc:signal") -> str:
    """An event's arguments as a browser's ``JSON.stringify`` writes them."""
    return orjson.dumps([event, payload]).decode()


def relayed(raw: dict[str, Any]) -> Any:
    """What the relay carries of the screened payload's data, decoded again."""
    return orjson.loads(orjson.dumps(raw["data"]))


def assert_sound(text: str) -> None:
    """If the text is taken, the decoded path takes the same payload, and the relay carries
    exactly its values."""
    screened = screen_signal_text(text)
    if screened is None:
        return
    event, payload = orjson.loads(text)
    assert event == "rtc:signal"
    assert signal_accepted(payload), text
    assert model_accepts(payload), text
    assert screened.raw["appointment_id"] == payload["appointment_id"]
    assert relayed(screened.raw) == payload["data"]
    assert screened.size == len(text) - len('["rtc:signal",]')  # the payload as sent
    assert decoded(text) == (payload, screened.size)


BROWSERS = [
    browser_candidate(),  # Chrome
    browser_candidate(pc=1764367200123000, to=1764367199456001),  # the call page adds its pairing
    browser_candidate(seq=12, t=1234.5678900000001),  # the benchmark's load generator
    browser_candidate(""),  # end of candidates, Firefox
    browser_candidate("candidate:1 1 tcp 1518280447 192.168.1.23 9 typ host tcptype active"),
    browser_candidate("1 1 UDP 2122252543 fd00::1 50000 typ host"),  # without the prefix
    {
        "type": "candidate",
        "candidate": {
            "candidate": CANDIDATE,
            "sdpMid": None,
            "sdpMLineIndex": None,
            "usernameFragment": None,
        },
    },
    browser_candidate(note="x" * 64, flag=True, nothing=None, negative=-3, zero=0),
]


@pytest.mark.parametrize("data", BROWSERS)
def test_what_browsers_send_is_taken_as_sent(data: dict[str, Any]) -> None:
    payload = {"appointment_id": APPOINTMENT, "data": data}
    text = text_of(payload)
    screened = screen_signal_text(text)
    assert screened is not None
    assert screened.raw["appointment_id"] == APPOINTMENT
    assert relayed(screened.raw) == data
    # The relay is the browser's own text: nothing was decoded and encoded again.
    assert orjson.dumps(screened.raw["data"]).decode() == orjson.dumps(data).decode()
    assert_sound(text)


REFUSED = [
    # Other events, other shapes of the signal (decoded as usual, where most are valid).
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate()}, event="chat:typing"),
    text_of({"appointment_id": APPOINTMENT, "data": {"type": "offer", "sdp": "v=0\r\n"}}),
    text_of({"appointment_id": APPOINTMENT, "data": {"type": "candidate", "candidate": CANDIDATE}}),
    text_of({"appointment_id": APPOINTMENT, "data": {"type": "bye"}}),
    text_of({"data": browser_candidate(), "appointment_id": APPOINTMENT}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(), "extra": 1}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(sdp="v=0\r\n")}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(type="offer")}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(nested={"a": 1})}),
    text_of(
        {"appointment_id": APPOINTMENT, "data": browser_candidate(**{f"x{i}": i for i in range(9)})}
    ),
    # JSON the pattern does not read: escapes, whitespace, exponents, non-ASCII.
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(CANDIDATE + ' a"b')}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(CANDIDATE + " a\\b")}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(CANDIDATE + " \u00e9")}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(t=1e300)}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate()}).replace(",", ", ", 1),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate()}).replace(
        "0123", "\\u0030123"
    ),
    # What the model refuses.
    text_of({"appointment_id": APPOINTMENT.upper(), "data": browser_candidate()}),
    text_of({"appointment_id": APPOINTMENT[:-1], "data": browser_candidate()}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate("hello")}),
    text_of({"appointment_id": APPOINTMENT, "data": browser_candidate(CANDIDATE + "\r\na=x")}),
    text_of(
        {"appointment_id": APPOINTMENT, "data": browser_candidate(CANDIDATE.replace("typ", "type"))}
    ),
    text_of(
        {
            "appointment_id": APPOINTMENT,
            "data": browser_candidate("x" * 257 + " 1 udp 1 h 9 typ host"),
        }
    ),
]


@pytest.mark.parametrize("text", REFUSED)
def test_anything_else_is_left_to_the_decoded_path(text: str) -> None:
    assert screen_signal_text(text) is None


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sdpMid", "x" * 65),
        ("sdpMid", "a b"),
        ("sdpMid", 0),
        ("sdpMLineIndex", 8),
        ("sdpMLineIndex", -1),
        ("sdpMLineIndex", True),
        ("sdpMLineIndex", 1.0),
        ("sdpMLineIndex", "0"),
        ("usernameFragment", "x" * 257),
        ("usernameFragment", 1),
    ],
)
def test_a_field_out_of_the_models_bounds_is_never_taken(field: str, value: Any) -> None:
    data = browser_candidate()
    data["candidate"][field] = value
    assert screen_signal_text(text_of({"appointment_id": APPOINTMENT, "data": data})) is None


@pytest.mark.parametrize("first", range(len(CHANGES)))
def test_every_field_changed_once_and_twice_is_taken_only_when_the_model_would(
    first: int,
) -> None:
    for second in range(first, len(CHANGES)):
        assert_sound(text_of(changed(BASE, [CHANGES[first], CHANGES[second]])))
    assert screen_signal_text(text_of(BASE)) is not None


# Characters that matter to JSON, to the pattern and to the model.
EDITS = st.sampled_from(list('"\\ ,:{}[]-.0179aefnlrstuxE\u00e9\u2028\x00\t\r\n'))
TEXTS = [text_of({"appointment_id": APPOINTMENT, "data": data}) for data in BROWSERS]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    text = draw(st.sampled_from(TEXTS))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(("insert", "replace", "delete")))
        if kind == "insert":
            text = text[:at] + draw(EDITS) + text[at:]
        elif kind == "replace":
            text = text[:at] + draw(EDITS) + text[at + 1 :]
        else:
            text = text[:at] + text[at + 1 :]
    return text


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_texts_are_taken_only_when_the_model_would(text: str) -> None:
    assert_sound(text)
