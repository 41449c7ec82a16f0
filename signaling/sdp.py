"""What the hub relays in ``rtc:signal``: well-formed SDP and ICE candidate text, nothing else.

The hub does not negotiate media, but it hands the SDP to the other participant's browser (or
an aiortc bot), so it refuses text that is not SDP at all or that could be read differently by
different parsers:

* only text: no control characters besides horizontal tab and the CRLF line ends;
* lines end with CRLF, never a lone CR or LF (the usual injection: a value carrying a line break
  that one parser splits on and another does not);
* the first line is ``v=0``; every line is ``<type>=<value>`` with a type letter of RFC 8866;
* at most :data:`MAX_MEDIA_SECTIONS` ``m=`` sections, each ``m=<media> <port> <proto> <fmt>...``;
* no line longer than :data:`MAX_LINE_CHARS`.

A trickled ICE candidate (``RTCIceCandidateInit.candidate``) is one ``candidate:`` attribute
value (RFC 8839) on one line, or empty (end of candidates). Pure functions: each returns the
problem in words, or ``None`` when the text is acceptable.
"""

from __future__ import annotations

import re

MAX_MEDIA_SECTIONS = 8
MAX_LINE_CHARS = 4096
MAX_CANDIDATE_CHARS = 1024

# Any control character except horizontal tab, CR and LF (C0, DEL, C1), and the Unicode line and
# paragraph separators some parsers also break lines on.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")
_LINE = re.compile(r"^[vosiuepcbtrzkam]=")
_MEDIA = re.compile(r"^m=(audio|video|application|text|message) \d+(/\d+)? [A-Za-z0-9/]+( \S+)+$")
_CANDIDATE = re.compile(
    r"^(candidate:)?[!-~]{1,256} \d{1,5} [A-Za-z]{3} \d{1,10} \S{1,256} \d{1,5} typ "
    r"(host|srflx|prflx|relay)( [!-~]+)*$"
)


def sdp_problem(sdp: str) -> str | None:
    """Why this SDP is refused, or ``None``."""
    if _CONTROL.search(sdp):
        return "the sdp holds control characters"
    body = sdp.removesuffix("\r\n")
    lines = body.split("\r\n")
    if any("\r" in line or "\n" in line for line in lines):
        return "sdp lines must end with CRLF (no lone CR or LF)"
    if lines[0] != "v=0":
        return "an sdp starts with the line v=0"
    media = 0
    for line in lines:
        if len(line) > MAX_LINE_CHARS:
            return f"an sdp line holds at most {MAX_LINE_CHARS} characters"
        if not _LINE.match(line):
            return "every sdp line is <type>=<value> with an SDP type letter"
        if line.startswith("m="):
            media += 1
            if not _MEDIA.match(line):
                return "a malformed m= line"
    if media > MAX_MEDIA_SECTIONS:
        return f"an sdp has at most {MAX_MEDIA_SECTIONS} media sections"
    return None


_NOT_A_CANDIDATE = "not an ICE candidate (candidate:<foundation> <component> <transport> ...)"
# ``_CANDIDATE`` over printable ASCII.
_PRINTABLE_CANDIDATE = re.compile(
    r"(candidate:)?[!-~]{1,256} [0-9]{1,5} [A-Za-z]{3} [0-9]{1,10} [!-~]{1,256} [0-9]{1,5} typ "
    r"(host|srflx|prflx|relay)( [!-~]+)*"
)


def candidate_problem(candidate: str) -> str | None:
    """Why this ICE candidate text is refused, or ``None`` (empty: end of candidates)."""
    if candidate == "":
        return None
    if len(candidate) > MAX_CANDIDATE_CHARS:
        return f"a candidate holds at most {MAX_CANDIDATE_CHARS} characters"
    # What browsers send: printable ASCII, which holds no control character, and in which the
    # pattern's ``\d`` and ``\S`` are ``[0-9]`` and ``[!-~]``. ``_PRINTABLE_CANDIDATE`` only
    # matches printable ASCII, so its verdict there is the pattern's (a property test checks).
    if _PRINTABLE_CANDIDATE.fullmatch(candidate):
        return None
    if candidate.isascii() and candidate.isprintable():
        return _NOT_A_CANDIDATE
    if _CONTROL.search(candidate) or "\r" in candidate or "\n" in candidate:
        return "a candidate is one line of text"
    if not _CANDIDATE.match(candidate):
        return _NOT_A_CANDIDATE
    return None
