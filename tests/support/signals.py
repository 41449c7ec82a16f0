"""Signals as browsers send them."""

from __future__ import annotations

from typing import Any

CANDIDATE = (
    "candidate:842163049 1 udp 1677729535 203.0.113.7 61427 typ srflx raddr 192.168.1.23 "
    "rport 61427 generation 0 ufrag 8hhY network-cost 999"
)


def browser_candidate(candidate: str = CANDIDATE, /, **extra: Any) -> dict[str, Any]:
    """A signal's data as a browser sends a trickled candidate: ``RTCIceCandidate.toJSON()``'s
    four fields (the hub relays this shape as the text it came in, signaling/signal_text.py),
    and whatever else the page adds."""
    return {
        "type": "candidate",
        "candidate": {
            "candidate": candidate,
            "sdpMid": "0",
            "sdpMLineIndex": 0,
            "usernameFragment": "8hhY",
        },
        **extra,
    }
