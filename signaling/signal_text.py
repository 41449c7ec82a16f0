"""A browser's trickled ICE candidate, checked and relayed as the text it came in.

Most of a call's ``rtc:signal`` events are trickled candidates, and a browser sends each one
the same way: ``RTCIceCandidate.toJSON()`` inside the signal, serialised by ``JSON.stringify``.
For that text the hub need not decode the JSON, check the values and encode them again: one
pattern over the event's text checks what :func:`signaling.models.signal_accepted` checks (and
so what :class:`signaling.models.SignalIn` accepts), and the signal's ``data`` is relayed as the
very text that matched. Everything else about the signal (who sends it, their room, the rate
limit, the size cap, the peer) is checked by the hub as for any signal.

The pattern only takes a subset of what the model accepts: the exact shape below, in that
order, without whitespace, and strings of printable ASCII without ``"`` or ``\\`` (so no JSON
escapes: a string's text is its value). Anything else (escapes, other key orders, an SDP,
numbers with exponents, nested values) is decoded and checked as usual. Property tests hold the
pattern to the model (tests/unit/test_signal_text.py)::

    ["rtc:signal",{"appointment_id":"<24 hex>","data":{"type":"candidate","candidate":
      {"candidate":"<candidate or empty>","sdpMid":<token or null>,
       "sdpMLineIndex":<0..7 or null>,"usernameFragment":<token or null>}
      [,"<name>":<number, string, true, false or null>]...}}]
"""

from __future__ import annotations

import re

import orjson

from signaling.acks import Received
from signaling.sdp import MAX_MEDIA_SECTIONS

SIGNAL_EVENT = "rtc:signal"
_EVENT = f'["{SIGNAL_EVENT}",'  # the text before the payload
MAX_EXTRA_FIELDS = 8

# A JSON string's characters that need no escape and are printable ASCII: [!-~] without '"'
# and '\' (the model's token and candidate characters, less those two).
_CHAR = r"[!#-\[\]-~]"


# Repeats are possessive (``{m,n}+``, ``++``, ``*+``) where what follows them can never be a
# character they take (a space, a quote, a comma, a brace): the match is the same, and the
# engine keeps no state to backtrack into them, which made it about a fifth faster.


def _token(longest: int) -> str:
    return rf'"{_CHAR}{{0,{longest}}}+"'


# signaling.sdp's candidate pattern over printable ASCII, with _CHAR for [!-~].
_CANDIDATE = (
    rf"(?:candidate:)?{_CHAR}{{1,256}}+ [0-9]{{1,5}}+ [A-Za-z]{{3}} [0-9]{{1,10}}+ "
    rf"{_CHAR}{{1,256}}+ [0-9]{{1,5}}+ typ (?:host|srflx|prflx|relay)(?: {_CHAR}++)*+"
)
_INDEX = "|".join(str(i) for i in range(MAX_MEDIA_SECTIONS))
# Another field of ``data``, relayed untouched: not one of the fields the model reads, a plain
# name, and a number (no exponent), a short string, true, false or null.
_EXTRA = (
    r',"(?!(?:type|sdp|candidate)")[A-Za-z_][A-Za-z0-9_]{0,31}+":'
    r"(?:-?(?:0|[1-9][0-9]{0,15}+)(?:\.[0-9]{1,17}+)?|" + _token(64) + r"|true|false|null)"
)
_SIGNAL = re.compile(
    re.escape(_EVENT) + r'\{"appointment_id":"([0-9a-f]{24})","data":('
    r'\{"type":"candidate","candidate":\{'
    rf'"candidate":"(?:{_CANDIDATE})?",'
    rf'"sdpMid":(?:{_token(64)}|null),'
    rf'"sdpMLineIndex":(?:{_INDEX}|null),'
    rf'"usernameFragment":(?:{_token(256)}|null)'
    rf"\}}(?:{_EXTRA}){{0,{MAX_EXTRA_FIELDS}}}+\}}"
    r")\}\]"
)


def _payload_size(text: str) -> int:
    """The length of the payload in an event's text, ``["rtc:signal",<payload>]``."""
    return len(text) - len(_EVENT) - 1


def screen_signal_text(text: str) -> Received | None:
    """The payload of an event's text (a Socket.IO EVENT's arguments, ``[name, payload]``) when
    it is a browser's candidate signal in the shape above: its ``data`` is the matched text as
    an :class:`orjson.Fragment` (encoded again exactly as it came), its ``size`` the payload's
    length as sent. None for any other text, which is then decoded and checked as usual."""
    match = _SIGNAL.fullmatch(text)
    if match is None:
        return None
    appointment_id, data = match.groups()
    return Received(
        raw={"appointment_id": appointment_id, "data": orjson.Fragment(data)},
        size=_payload_size(text),
    )


def decoded(text: str) -> Received:
    """What :func:`screen_signal_text` took from ``text``, with its values decoded: for the
    paths that handle the signal as values (queued behind other packets, or published to the
    node of the peer's socket)."""
    payload = orjson.loads(text)[1]
    return Received(raw=payload, size=_payload_size(text))
