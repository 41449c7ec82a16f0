"""``signal_accepted`` lets the hub relay most signals without building the pydantic model:
that is only sound if it never takes a payload the model refuses (a refused payload goes
through the model, which words the error), and it must take what browsers send."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from signaling.models import SignalIn, signal_accepted

CANDIDATE = "candidate:842163049 1 udp 1677729535 203.0.113.7 61427 typ srflx generation 0"
MISSING = object()


BASE: dict[str, Any] = {
    "appointment_id": "0123456789abcdef01234567",
    "data": {
        "type": "candidate",
        "candidate": {
            "candidate": CANDIDATE,
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "8hhY",
        },
        "seq": 1,
    },
}

# (path, value): one field of BASE changed (MISSING: removed), valid or not.
CHANGES: list[tuple[tuple[str, ...], Any]] = [
    *[
        (("appointment_id",), v)
        for v in (MISSING, "0123456789ABCDEF01234567", "a" * 23, "a" * 25, "g" * 24, 5, None)
    ],
    *[(("data",), v) for v in (MISSING, None, "x", [1])],
    (("extra",), 1),
    *[
        (("data", "type"), v)
        for v in (MISSING, "restart", "bye", "offer", "answer", "Candidate", 1)
    ],
    *[(("data", "sdp"), v) for v in (None, "", "v=0\r\n", "not sdp")],
    *[
        (("data", "candidate"), v)
        for v in (MISSING, None, CANDIDATE, "", "junk", 3, [CANDIDATE], CANDIDATE + "\n", {})
    ],
    *[(("data", "seq"), v) for v in (MISSING, 1.5, None, [1, {"a": True}])],
    *[
        (("data", "candidate", "candidate"), v)
        for v in (MISSING, "", "junk", 5, None, CANDIDATE + "\n", CANDIDATE + " ")
    ],
    *[
        (("data", "candidate", "sdpMid"), v)
        for v in (MISSING, None, "", "a b", "\u00e9", "x" * 64, "x" * 65, 0, "a\tb")
    ],
    *[
        (("data", "candidate", "sdpMLineIndex"), v)
        for v in (MISSING, None, 7, 8, -1, True, 1.0, "0")
    ],
    *[
        (("data", "candidate", "usernameFragment"), v)
        for v in (MISSING, None, "x" * 256, "x" * 257, "a b", 1, "\u00e9")
    ],
    (("data", "candidate", "other"), 1),
]


def changed(base: dict[str, Any], changes: list[tuple[tuple[str, ...], Any]]) -> dict[str, Any]:
    raw = copy.deepcopy(base)
    for path, value in changes:
        target: Any = raw
        for key in path[:-1]:
            target = target.get(key) if isinstance(target, dict) else None
        if not isinstance(target, dict):
            continue  # a change inside a field an earlier change replaced
        if value is MISSING:
            target.pop(path[-1], None)
        else:
            target[path[-1]] = copy.deepcopy(value)
    return raw


def model_accepts(raw: dict[str, Any]) -> bool:
    try:
        SignalIn.model_validate(raw)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("first", range(len(CHANGES)))
def test_the_fast_check_never_takes_what_the_model_refuses(first: int) -> None:
    """Every field of a browser's candidate changed once, and every pair of changes."""
    for second in range(first, len(CHANGES)):
        raw = changed(BASE, [CHANGES[first], CHANGES[second]])
        if signal_accepted(raw):
            assert model_accepts(raw), raw
    assert signal_accepted(BASE)
    assert model_accepts(BASE)


BROWSER_SIGNALS = [
    {
        "type": "candidate",
        "candidate": {
            "candidate": CANDIDATE,
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "8hhY",
        },
        "seq": 1,
        "t": 12.5,
    },
    {"type": "candidate", "candidate": {"candidate": "", "sdpMid": "0", "sdpMLineIndex": 0}},
    {"type": "candidate", "candidate": CANDIDATE},
    {"type": "candidate", "candidate": None},
    {"type": "bye"},
    {"type": "restart"},
]


@pytest.mark.parametrize("data", BROWSER_SIGNALS)
def test_the_fast_check_takes_what_browsers_send(data: dict[str, Any]) -> None:
    raw = {"appointment_id": "0123456789abcdef01234567", "data": data}
    assert signal_accepted(raw)
    assert model_accepts(raw)


@pytest.mark.parametrize(
    "data",
    [
        {"type": "candidate", "candidate": {"candidate": CANDIDATE, "sdpMLineIndex": 8}},
        {"type": "candidate", "candidate": {"candidate": CANDIDATE, "sdpMLineIndex": True}},
        {"type": "candidate", "candidate": {"candidate": CANDIDATE, "sdpMid": "a b"}},
        {"type": "candidate", "candidate": {"candidate": CANDIDATE, "other": 1}},
        {"type": "candidate", "candidate": CANDIDATE + "\r\na=x"},
        {"type": "offer"},
    ],
)
def test_the_fast_check_leaves_refusals_to_the_model(data: dict[str, Any]) -> None:
    raw = {"appointment_id": "0123456789abcdef01234567", "data": data}
    assert not signal_accepted(raw)
    assert not model_accepts(raw)
